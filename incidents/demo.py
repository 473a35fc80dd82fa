"""The demo's incident scenario, registered with the inbox's demo fleet (``inbox.hooks``).

``seed`` (run by ``manage.py seed_demo``): the Operations responder group (carol and ``ines``, the
demo's incident commander login), its status-page subscribers, and five incident agents.

``run`` (a thread beside ``manage.py run_demo_fleet``), through the real HTTP API like any agent:
1. ``monitoring-bot`` raises a candidate (SEV-2 or SEV-1) and waits for a person to accept it;
2. then, in parallel: ``root-cause-bot`` and ``impact-bot`` post findings (they sometimes disagree on
   the root cause: the war room shows them side by side), ``related-incidents-bot`` links earlier
   incidents, and ``comms-bot`` drafts a status update;
3. ``root-cause-bot`` proposes a remediation for the incident and waits for the commander;
4. once the incident is resolved (or declined), after a pause, the next scenario starts.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from governance.models import Agent
from governance.services import agent_create, domain_get_or_create
from inbox.hooks import DemoExtension
from orchestra_client import DecisionTimeout, OrchestraClient, OrchestraError

from . import services

PASSWORD = "orchestra-demo"
AGENTS = ("monitoring-bot", "root-cause-bot", "impact-bot", "related-incidents-bot", "comms-bot")

SCENARIOS = [
    {"title": "Payments: card charges failing (5xx on /charge)", "severity": "SEV-2",
     "resource": "service:payments", "symptom": "error_rate_high",
     "summary": "HTTP 5xx on POST /charge rose from 0.1 % to 4.2 % at 14:02 UTC.",
     "evidence": {"error_rate": 0.042, "baseline": 0.001, "dashboard": "https://grafana.example/d/payments"},
     "root_cause": ("deploy 2026.11.4", "Deploy 2026.11.4 (14:00 UTC) changed the card-network client timeout "
                                        "from 5 s to 500 ms; every failing charge times out at 500 ms."),
     "rival_cause": ("card network degradation", "The card network's status page reports degraded latency."),
     "impact": ("18 % of card charges", "About 18 % of card charges fail; 1,240 customers affected so far, "
                                        "about $38,000 of orders at risk per hour."),
     "remediation": {"action": "deploy.rollback", "resource": "service:payments",
                     "summary": "Roll back payments to 2026.11.3",
                     "args": {"service": "payments", "to_version": "2026.11.3"}},
     "update": ("Some card payments fail at checkout.", "We are rolling back a change made at 14:00 UTC.",
                "If a payment fails, please retry in 15 minutes.")},
    {"title": "Search: p99 latency above 3 s", "severity": "SEV-3",
     "resource": "service:search", "symptom": "latency_high",
     "summary": "p99 of /search rose from 300 ms to 3.4 s after the nightly reindex.",
     "evidence": {"p99_ms": 3400, "baseline_ms": 300},
     "root_cause": ("reindex left a cold cache", "The nightly reindex finished at 06:10 and evicted the query "
                                                 "cache; hit rate is 12 % (normally 85 %)."),
     "rival_cause": None,
     "impact": ("slow search, no errors", "Searches are slow but succeed; conversion from search down 6 %."),
     "remediation": {"action": "service.restart", "resource": "service:search",
                     "summary": "Restart the search workers with cache warm-up",
                     "args": {"service": "search", "warm_cache": True}},
     "update": ("Search is slower than usual.", "We are warming the search cache.", "")},
    {"title": "Login: SSO sign-ins loop back to the sign-in page", "severity": "SEV-1",
     "resource": "service:auth", "symptom": "login_failures",
     "summary": "SSO sign-in success fell from 99 % to 41 % at 09:15 UTC.",
     "evidence": {"success_rate": 0.41, "idp": "okta"},
     "root_cause": ("expired SAML signing certificate", "The SAML signing certificate expired at 09:15 UTC."),
     "rival_cause": ("identity provider outage", "Okta reports a partial outage in one region."),
     "impact": ("59 % of SSO sign-ins", "59 % of SSO sign-ins fail; password sign-in works."),
     "remediation": {"action": "service.restart", "resource": "service:auth",
                     "summary": "Roll the auth service onto the renewed SAML certificate",
                     "args": {"service": "auth", "certificate": "saml-2026-11"}},
     "update": ("Some customers cannot sign in with SSO.", "We are rolling out a renewed certificate.",
                "Password sign-in still works.")},
]


def seed() -> str:
    """The responder group of Operations (carol, ines), subscribers and the incident agents. Safe twice."""
    User = get_user_model()
    ines, created = User.objects.get_or_create(username="ines", defaults={"first_name": "Ines",
                                                                          "email": "ines@example.com"})
    if created:
        ines.set_password(PASSWORD)
        ines.save()
    ops = domain_get_or_create(name="Operations")
    group, _ = Group.objects.get_or_create(name="Operations responders")
    for username in ("ines", "carol"):
        user = User.objects.filter(username=username).first()
        if user is not None:
            user.groups.add(group)
    ines.groups.add(ops.default_inbox.reviewers)  # she also reviews the domain's first-line inbox
    services.domain_response_set(domain=ops, by=None, responders=group,
                                 subscribers="status-subscribers@example.com\n")
    for name in AGENTS:
        if not Agent.objects.filter(name=name).exists():
            agent_create(name=name, domain=ops, team="SRE")
    return "Incidents: ines (incident commander) and carol respond to Operations; five incident agents."


def run(base_url: str, tokens: dict[str, str], stop: threading.Event, emit: Callable[[str], None],
        *, seed: int | None = None, accept_timeout: float = 600) -> None:
    """Play the scenarios one after another until ``stop`` is set (see the module docstring)."""
    rng = random.Random(seed)
    clients = {name: OrchestraClient(base_url, tokens[name], timeout=10.0) for name in AGENTS}
    n = 0
    try:
        while not stop.is_set():
            scenario = SCENARIOS[n % len(SCENARIOS)]
            n += 1
            try:
                _play(scenario, clients, stop, emit, rng, accept_timeout)
            except OrchestraError as exc:
                emit(f"incident scenario: {exc}; next one in 30 s")
            stop.wait(30)
    finally:
        for client in clients.values():
            client.close()


def _play(s: dict, clients: dict, stop: threading.Event, emit, rng: random.Random, accept_timeout: float) -> None:
    monitor = clients["monitoring-bot"]
    incident = monitor.report_incident(s["title"], s["severity"], resource=s["resource"], symptom=s["symptom"],
                                       summary=s["summary"], evidence=s["evidence"], workflow=f"demo-{s['symptom']}")
    iid = incident["id"]
    emit(f"monitoring-bot: raised {incident['reference']} {s['severity']} {s['title']}"
         + (" (grouped)" if incident["grouped"] else " — waiting for a person to accept it"))
    status = _wait(monitor, iid, stop, lambda i: i["status"] != "triage", accept_timeout)
    if status is None or status["status"] in ("declined", "merged"):
        emit(f"monitoring-bot: {incident['reference']} was {status['status'] if status else 'not accepted'}")
        return
    emit(f"{incident['reference']} accepted; commander {status['commander']}; four agents investigate")
    work = [
        lambda: clients["root-cause-bot"].add_finding(iid, s["root_cause"][1], confidence=round(rng.uniform(.7, .9), 2),
                                                      question="root_cause", answer=s["root_cause"][0],
                                                      evidence={"source": "deploy log, traces"}),
        lambda: clients["impact-bot"].add_finding(iid, s["impact"][1], confidence=round(rng.uniform(.6, .85), 2),
                                                  question="customer_impact", answer=s["impact"][0]),
        lambda: clients["related-incidents-bot"].add_finding(iid, _related(clients["related-incidents-bot"], s),
                                                             confidence=0.6, question="related_incidents"),
        lambda: clients["comms-bot"].draft_status_update(iid, s["update"][0], actions=s["update"][1],
                                                         needs=s["update"][2]),
    ]
    if s["rival_cause"] and rng.random() < 0.7:  # a second opinion that disagrees: shown side by side
        work.append(lambda: clients["impact-bot"].add_finding(
            iid, s["rival_cause"][1], confidence=round(rng.uniform(.3, .5), 2), question="root_cause",
            answer=s["rival_cause"][0]))
    threads = [threading.Thread(target=w, daemon=True) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    r = s["remediation"]
    emit(f"root-cause-bot: proposes {r['action']} for {incident['reference']}; waiting for the commander")
    proposal = clients["root-cause-bot"].submit(**r, risk="high", confidence=0.82, incident=iid,
                                                reasoning=s["root_cause"][1])
    while not stop.is_set() and proposal.pending:
        try:
            proposal = clients["root-cause-bot"].wait(proposal.id, timeout=30)
        except DecisionTimeout:
            continue
    if not proposal.pending:
        emit(f"root-cause-bot: remediation {proposal.status.replace('_', ' ')}"
             + (f" by {proposal.decided_by}" if proposal.decided_by else ""))
    _wait(monitor, iid, stop, lambda i: i["status"] in ("resolved", "closed", "merged"), 3600)


def _related(client, s: dict) -> str:
    earlier = [i for i in client.incidents(status="resolved", limit=50) if i["resource"] == s["resource"]]
    if not earlier:
        return f"No earlier incident on {s['resource']} in the last 90 days."
    return "Earlier on the same resource: " + "; ".join(f"{i['reference']} {i['title']}" for i in earlier[:3])


def _wait(client, incident_id: str, stop: threading.Event, done, timeout: float) -> dict | None:
    waited = 0.0
    while not stop.is_set() and waited < timeout:
        incident = client.incident(incident_id)
        if done(incident):
            return incident
        stop.wait(2)
        waited += 2
    return None


EXTENSION = DemoExtension(name="incidents", seed=seed, agents=AGENTS, run=run)
