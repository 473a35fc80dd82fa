"""The demo fleet's scenario data: four demo agents and the realistic proposals each one makes.

Pure data and generators (a ``random.Random`` in, a ProposalIn body out): no HTTP, no database. The
runtime that posts them is :mod:`inbox.demo.fleet`.

Scenarios (agent → actions, routed by the seed_demo rules):

- intake-triage-bot: ``ticket.route`` (support triage), ``ticket.flag_legal`` (legal),
  ``data.retention_exception`` (compliance: only the enterprise board decides it)
- content-pipeline-bot: ``content.publish_article`` (content editors: needs an editor's sign-off)
- qa-release-bot: ``ticket.file_bug`` (QA & release), ``release.hold`` (the Platform orchestrator)
- ops-handoff-bot: ``service.restart``, ``firewall.update_rule`` (incident commanders),
  ``deploy.rollback`` (platform reviewers)
- qa-release-bot (Platform) and ops-handoff-bot (Operations) both ask for the same on-call engineers
  (``oncall.reassign``, a cross-domain conflict: the enterprise board decides, and sees the two side by side)

Traffic: each agent posts its ``openers`` first, a few seconds apart, so that within a minute of
``./scripts/up`` every demo inbox (and so every demo login) has work; then Poisson arrivals, each agent at
its ``share`` of the fleet's rate, so inboxes fill in proportion. An article is proposed again only
once every other article has been proposed as often (``Scenario.distinct``; ``Fleet`` keeps the count).
``DEMO_ACTION_TYPES`` are the action types these scenarios add to the default ones (``seed_demo``).
"""
from __future__ import annotations

import functools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

Body = dict  # a ProposalIn body: action, summary, resource, args, reasoning, risk, confidence, …


def _expires(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat(timespec="seconds")


def _cost(rng: random.Random, low: float, high: float) -> str:
    """An estimated cost in USD as a decimal string with cents."""
    return f"{rng.uniform(low, high):.2f}"


def _conf(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


# --- intake triage --------------------------------------------------------------------------------

CUSTOMERS = ["Northwind Traders", "Globex", "Initech", "Umbrella Health", "Stark Logistics", "Wayne Foods",
             "Acme Retail", "Hooli Cloud", "Soylent Labs", "Vandelay Imports"]
TICKET_TOPICS = [
    ("billing", "Invoice charged twice for the October plan", "billing-team", "high"),
    ("billing", "Refund request for unused annual seats", "billing-team", "normal"),
    ("auth", "SSO login loops back to the sign-in page", "identity-oncall", "urgent"),
    ("auth", "Password reset emails arrive after 20 minutes", "identity-oncall", "normal"),
    ("api", "Webhook deliveries return 502 since this morning", "platform-support", "high"),
    ("api", "Rate limit hit at 50 req/s despite enterprise plan", "platform-support", "normal"),
    ("data", "CSV export truncates at 10,000 rows", "data-team", "low"),
    ("data", "Dashboard shows yesterday's numbers only", "data-team", "normal"),
    ("account", "Request to transfer workspace ownership", "account-management", "low"),
]
LEGAL_TOPICS = [
    ("gdpr", "Customer invokes GDPR Art. 17 erasure and threatens a complaint to the regulator"),
    ("contract", "Customer says the SLA credit clause was breached and mentions counsel"),
    ("ip", "Report that a published template copies a competitor's copyrighted design"),
    ("subpoena", "Message claims to include a subpoena for account records"),
    ("dpa", "Procurement asks for a signed DPA amendment before renewal"),
]


def ticket_route(rng: random.Random, *, confidence: float | None = None) -> Body:
    ticket = f"SUP-{rng.randint(4000, 9999)}"
    topic, subject, queue, priority = rng.choice(TICKET_TOPICS)
    customer = rng.choice(CUSTOMERS)
    confidence = confidence if confidence is not None else _conf(rng, 0.55, 0.97)
    return {
        "action": "ticket.route",
        "resource": f"ticket:{ticket}",
        "summary": f"Route {ticket} ({customer}: {subject.lower()}) to {queue}",
        "args": {"ticket_id": ticket, "queue": queue, "priority": priority, "tags": [topic, "auto-triaged"]},
        "reasoning": (
            f"Classified as '{topic}' with {confidence:.0%} confidence from the subject and first message. "
            f"{customer} is on the {rng.choice(['Team', 'Business', 'Enterprise'])} plan; "
            f"{rng.randint(2, 9)} similar tickets went to {queue} this week, none was re-routed."
        ),
        "risk": "low",
        "confidence": confidence,
        "cost_usd": _cost(rng, 0.01, 0.06),
        "classification": "internal",
        "related_tasks": [ticket],
    }


def ticket_flag_legal(rng: random.Random) -> Body:
    ticket = f"SUP-{rng.randint(4000, 9999)}"
    topic, what = rng.choice(LEGAL_TOPICS)
    customer = rng.choice(CUSTOMERS)
    return {
        "action": "ticket.flag_legal",
        "resource": f"ticket:{ticket}",
        "summary": f"Flag {ticket} from {customer} for legal review ({topic})",
        "args": {"ticket_id": ticket, "category": topic, "freeze_auto_replies": True, "notify": "legal@example.com"},
        "reasoning": f"{what}. Auto-replies should stop until Legal has read it.",
        "risk": rng.choice(["medium", "high"]),
        "confidence": _conf(rng, 0.6, 0.92),
        "cost_usd": _cost(rng, 0.02, 0.08),
        "classification": "sensitive",
        "related_tasks": [ticket],
        "expires_at": _expires(rng.choice([4, 8, 24])),
    }


# --- content pipeline -----------------------------------------------------------------------------

# (subject, channel) × format: 60 distinct articles.
ARTICLE_SUBJECTS = [
    ("connection pooling", "engineering-blog"), ("our on-call handbook", "engineering-blog"),
    ("approval workflows for AI agents", "product-blog"), ("human-in-the-loop review", "product-blog"),
    ("the reviewer inbox", "changelog"), ("audit trail exports", "changelog"),
    ("Globex's invoice triage", "customers"), ("Initech's release train", "customers"),
    ("rotating API tokens", "security"), ("least-privilege agent tokens", "security"),
    ("data retention", "product-blog"), ("cost budgets for agent fleets", "product-blog"),
]
ARTICLE_FORMATS = ["A practical guide to {s}", "What we learned about {s}", "Five questions about {s}",
                   "{S}: the November update", "Behind the scenes: {s}"]
ARTICLES = [(f.format(s=subject, S=subject[0].upper() + subject[1:]), channel)
            for subject, channel in ARTICLE_SUBJECTS for f in ARTICLE_FORMATS]
AUTHORS = ["Priya Natarajan", "Tom Becker", "Lena Fischer", "Marcus Ode", "Sofia Alvarez"]


def content_publish_article(rng: random.Random) -> Body:
    title, channel = rng.choice(ARTICLES)
    slug = "-".join(title.lower().replace(":", "").replace("%", "pct").replace("'", "").split())[:60]
    draft = f"CMS-{rng.randint(100, 999)}"
    words = rng.randint(600, 2400)
    links = rng.randint(0, 3)
    risk = "high" if channel == "security" else ("medium" if channel == "customers" else "low")
    return {
        "action": "content.publish_article",
        "resource": f"article:{slug}",
        "summary": f"Publish \u201c{title}\u201d to {channel}",
        "args": {"draft_id": draft, "channel": channel, "slug": slug, "author": rng.choice(AUTHORS),
                 "publish_at": _expires(rng.choice([0.5, 2, 24])), "social_post": rng.random() < 0.5},
        "reasoning": (
            f"Draft {draft} passed the style check ({words} words, reading grade {rng.randint(8, 12)}), "
            f"{links} broken link(s) fixed automatically"
            + (", and quotes a customer by name — needs their approval on file." if channel == "customers" else ".")
            + " Editor sign-off is required before anything goes public."
        ),
        "risk": risk,
        "confidence": _conf(rng, 0.7, 0.95),
        "cost_usd": _cost(rng, 0.10, 1.80),
        "classification": "public",
        "related_tasks": [draft] + ([f"MKT-{rng.randint(100, 400)}"] if rng.random() < 0.5 else []),
    }


# --- QA and release -------------------------------------------------------------------------------

COMPONENTS = ["checkout", "search", "inbox-ui", "billing-api", "mobile-app", "notifications", "reports"]
FAILURES = [
    ("flaky test became a hard failure", "test_checkout_applies_coupon fails 9/10 runs since commit {sha}"),
    ("visual regression", "Screenshot diff of 4.2% on the {component} page in Safari"),
    ("performance regression", "p95 of /{component} went from 180 ms to 410 ms in the nightly load test"),
    ("crash on startup", "Android 14 build crashes on launch with NullPointerException in {component}"),
    ("data mismatch", "Totals in {component} differ from the warehouse by 0.3% for November"),
]


def _version(rng: random.Random) -> str:
    return f"2026.{rng.randint(10, 12)}.{rng.randint(1, 9)}"


def ticket_file_bug(rng: random.Random, *, confidence: float | None = None) -> Body:
    component = rng.choice(COMPONENTS)
    kind, detail = rng.choice(FAILURES)
    sha = f"{rng.getrandbits(28):07x}"
    run = f"CI-{rng.randint(20000, 29999)}"
    severity = rng.choice(["S2", "S3", "S3", "S4"])
    return {
        "action": "ticket.file_bug",
        "resource": f"component:{component}",
        "summary": f"File a {severity} bug: {component} {kind}",
        "args": {"project": "QA", "component": component, "severity": severity,
                 "title": f"{component}: {kind}", "labels": ["regression", "found-by-agent"], "ci_run": run},
        "reasoning": detail.format(sha=sha, component=component)
        + f". Reproduced in {rng.randint(2, 5)} of {rng.randint(5, 6)} reruns of {run}; no open ticket matches.",
        "risk": "low",
        "confidence": confidence if confidence is not None else _conf(rng, 0.6, 0.93),
        "cost_usd": _cost(rng, 0.02, 0.12),
        "classification": "internal",
        "related_tasks": [run],
    }


def release_hold(rng: random.Random, *, risk: str | None = None) -> Body:
    version = _version(rng)
    component = rng.choice(COMPONENTS)
    failing = rng.randint(1, 7)
    bug = f"QA-{rng.randint(1500, 2500)}"
    return {
        "action": "release.hold",
        "resource": f"release:{version}",
        "summary": f"Hold release {version}: {failing} blocking test(s) failing in {component}",
        "args": {"release": version, "reason": f"{failing} blocking failures in {component}",
                 "hold_hours": rng.choice([2, 4, 12]), "notify_channels": ["#release", f"#team-{component}"]},
        "reasoning": (
            f"The release candidate's end-to-end suite has {failing} failing blocking test(s) in {component} "
            f"(see {bug}). Last green build was {rng.randint(2, 9)} hours ago; the release train leaves at 16:00 UTC."
        ),
        "risk": risk or rng.choice(["medium", "high"]),
        "confidence": _conf(rng, 0.7, 0.96),
        "cost_usd": "0",
        "classification": "internal",
        "related_tasks": [bug, f"REL-{version}"],
        "expires_at": _expires(rng.choice([1, 2, 3])),
    }


# --- ops handoffs ---------------------------------------------------------------------------------

SERVICES = ["payments", "checkout", "search", "auth", "notifications", "ledger", "inbox-api"]
REGIONS = ["eu-west-1", "us-east-1", "ap-southeast-2"]


def service_restart(rng: random.Random) -> Body:
    service = rng.choice(SERVICES)
    region = rng.choice(REGIONS)
    incident = f"INC-{rng.randint(1000, 1999)}"
    symptom = rng.choice([
        f"memory at {rng.randint(91, 99)}% and climbing {rng.randint(2, 9)}%/hour (suspected leak)",
        f"{rng.randint(3, 40)} pods stuck in a deadlock on the connection pool",
        f"health checks failing on {rng.randint(2, 6)} of 8 instances after a config reload",
    ])
    return {
        "action": "service.restart",
        "resource": f"service:{service}",
        "summary": f"Rolling restart of {service} in {region}",
        "args": {"service": service, "region": region, "strategy": "rolling", "max_unavailable": rng.choice([1, 2]),
                 "drain_seconds": rng.choice([30, 60, 120])},
        "reasoning": f"Handoff from the night shift: {symptom}. A rolling restart cleared the same symptom in "
                     f"{rng.choice(['INC-1207', 'INC-1311', 'INC-1456'])}.",
        "risk": rng.choice(["medium", "high"]),
        "confidence": _conf(rng, 0.55, 0.9),
        "cost_usd": _cost(rng, 0.0, 3.0),
        "classification": "internal",
        "related_tasks": [incident],
    }


def deploy_rollback(rng: random.Random, *, risk: str | None = None) -> Body:
    service = rng.choice(SERVICES)
    current = _version(rng)
    target = f"{current.rsplit('.', 1)[0]}.{max(0, int(current.rsplit('.', 1)[1]) - 1)}"
    incident = f"INC-{rng.randint(1000, 1999)}"
    before, after = round(rng.uniform(0.05, 0.3), 2), round(rng.uniform(1.5, 9.0), 1)
    return {
        "action": "deploy.rollback",
        "resource": f"service:{service}",
        "summary": f"Roll back {service} from {current} to {target}",
        "args": {"service": service, "from_version": current, "to_version": target,
                 "region": rng.choice(REGIONS + ["all"])},
        "reasoning": f"Error rate rose from {before}% to {after}% within {rng.randint(4, 25)} minutes of "
                     f"deploying {current}; no schema migration in between, so rolling back is safe.",
        "risk": risk or rng.choice(["high", "high", "critical"]),
        "confidence": _conf(rng, 0.65, 0.95),
        "cost_usd": _cost(rng, 0.5, 12.0),
        "classification": "internal",
        "related_tasks": [incident, f"DEP-{rng.randint(3000, 3999)}"],
        "expires_at": _expires(1),
    }


def firewall_update_rule(rng: random.Random) -> Body:
    cidr = f"203.0.113.{rng.randint(0, 255)}/32" if rng.random() < 0.6 else f"198.51.100.{rng.choice([0, 64, 128])}/26"
    port = rng.choice([22, 443, 5432, 6379, 8443])
    action = rng.choice(["deny", "deny", "allow"])
    rule = f"fw-{rng.randint(100, 999)}"
    change = f"CHG-{rng.randint(500, 999)}"
    why = (f"{rng.randint(2000, 90000)} failed logins from {cidr} in the last hour, none successful"
           if action == "deny"
           else f"vendor {rng.choice(['Datadog', 'PagerDuty', 'Stripe'])} needs access during {change}")
    return {
        "action": "firewall.update_rule",
        "resource": f"firewall:edge/{rule}",
        "summary": f"{action.capitalize()} {cidr} on port {port} at the edge firewall",
        "args": {"rule_id": rule, "action": action, "cidr": cidr, "port": port, "protocol": "tcp",
                 "expires_in_hours": rng.choice([None, 24, 72])},
        "reasoning": f"Handoff from ops: {why}. The rule is scoped to one port and can be reverted in one step.",
        "risk": "critical" if action == "allow" and port in (22, 5432, 6379) else "high",
        "confidence": _conf(rng, 0.5, 0.9),
        "cost_usd": "0",
        "classification": "internal",
        "related_tasks": [change],
    }


# --- what only the enterprise board decides ---------------------------------------------------------

RETENTION_CASES = [
    ("legal hold requested by counsel for a pending dispute", "Legal hold LH-{n}"),
    ("a regulator's inquiry asks for 18 months of ticket history", "Regulator request REG-{n}"),
    ("the customer's auditors need the original tickets for their SOC 2 review", "Audit request AUD-{n}"),
]


def data_retention_exception(rng: random.Random) -> Body:
    """Keep a customer's tickets past the 90-day retention: a compliance issue (the board's)."""
    customer = rng.choice(CUSTOMERS)
    why, ref = rng.choice(RETENTION_CASES)
    ref = ref.format(n=rng.randint(100, 999))
    days = rng.choice([180, 365, 540])
    return {
        "action": "data.retention_exception",
        "resource": f"retention:{customer.lower().replace(' ', '-')}",
        "summary": f"Keep {customer}'s support tickets for {days} days instead of 90 ({ref})",
        "args": {"customer": customer, "keep_days": days, "scope": "support_tickets", "reference": ref},
        "reasoning": f"The purge job would delete {rng.randint(300, 4000)} tickets of {customer} on Sunday, but "
                     f"{why}. An exception to the retention policy is a compliance decision.",
        "risk": "medium",
        "confidence": _conf(rng, 0.7, 0.95),
        "cost_usd": "0",
        "classification": "sensitive",
        "related_tasks": [ref],
    }


REFUND_REASONS = ["charged twice for the October plan", "billed after cancelling", "outage credit owed under the SLA",
                  "plan downgraded but billed at the old price"]


def billing_refund(rng: random.Random) -> Body:
    """Refund a customer: no policy routes billing, so the Operations domain's default inbox reviews it."""
    customer = rng.choice(CUSTOMERS)
    ticket = f"SUP-{rng.randint(4000, 9999)}"
    amount = round(rng.uniform(12, 90), 2)
    why = rng.choice(REFUND_REASONS)
    return {
        "action": "billing.refund",
        "resource": f"account:{customer.lower().replace(' ', '-')}",
        "summary": f"Refund {customer} ${amount:.2f}: {why} ({ticket})",
        "args": {"customer": customer, "amount_usd": amount, "ticket": ticket, "reason": why},
        "reasoning": f"{ticket}: the customer says they were {why}; the invoice history agrees. The refund is "
                     f"below the support team's own limit, but money leaves the company, so a person confirms.",
        "risk": "medium",
        "confidence": _conf(rng, 0.7, 0.92),
        "cost_usd": f"{amount:.2f}",
        "classification": "internal",
        "related_tasks": [ticket],
    }


LICENSED_ASSETS = [("stock photo pack 'Harbour at dawn'", "photo"), ("font family 'Atlas Grotesk'", "font"),
                   ("video clip 'City timelapse'", "video"), ("illustration set 'Onboarding'", "illustration")]


def asset_license_renewal(rng: random.Random) -> Body:
    """Renew a licence for a published asset: over $100, so it escalates to the Product domain's
    orchestrator (the default cost policy)."""
    asset, kind = rng.choice(LICENSED_ASSETS)
    years = rng.choice([1, 2, 3])
    cost = f"{rng.uniform(120, 900):.2f}"
    ref = f"LIC-{rng.randint(100, 999)}"
    return {
        "action": "asset.license_renewal",
        "resource": f"asset:{kind}-{ref.lower()}",
        "summary": f"Renew the licence of the {asset} for {years} year{'s' if years > 1 else ''} (${cost})",
        "args": {"asset": asset, "years": years, "cost_usd": cost, "reference": ref},
        "reasoning": f"The licence ({ref}) runs out in {rng.randint(5, 25)} days and the asset is on "
                     f"{rng.randint(3, 40)} live pages; taking them down would cost more than renewing.",
        "risk": "medium",
        "confidence": _conf(rng, 0.75, 0.95),
        "cost_usd": cost,
        "classification": "internal",
        "related_tasks": [ref],
    }


CAPACITY = [("payments", "db.r6g.2xlarge"), ("checkout", "c7g.4xlarge"), ("search", "r6g.4xlarge"),
            ("ledger", "db.r6g.xlarge")]


def capacity_reserve(rng: random.Random) -> Body:
    """Reserve capacity ahead of a peak: over $100, so it escalates to the Operations domain's orchestrator."""
    service, instance = rng.choice(CAPACITY)
    count = rng.randint(2, 8)
    cost = f"{count * rng.uniform(60, 180):.2f}"
    ref = f"CAP-{rng.randint(100, 999)}"
    return {
        "action": "capacity.reserve",
        "resource": f"service:{service}",
        "summary": f"Reserve {count} × {instance} for {service} ahead of the month-end peak (${cost})",
        "args": {"service": service, "instance_type": instance, "count": count, "months": 1, "reference": ref},
        "reasoning": f"Last month-end {service} ran at {rng.randint(82, 97)} % CPU for {rng.randint(2, 6)} hours; "
                     f"reserved capacity costs ${cost} against on-demand surge pricing.",
        "risk": "medium",
        "confidence": _conf(rng, 0.7, 0.9),
        "cost_usd": cost,
        "classification": "internal",
        "related_tasks": [ref],
    }


LANGUAGES = ["German", "French", "Japanese", "Spanish", "Portuguese", "Dutch"]


def translation_order(rng: random.Random) -> Body:
    """Order a translation of a page: no policy routes it, so the Product domain's default inbox reviews it."""
    title = rng.choice(ARTICLES)[0]
    language = rng.choice(LANGUAGES)
    words = rng.randint(600, 2400)
    cost = f"{words * rng.uniform(0.03, 0.06):.2f}"
    ref = f"TR-{rng.randint(1000, 9999)}"
    return {
        "action": "translation.order",
        "resource": f"page:{ref.lower()}",
        "summary": f"Order a {language} translation of '{title}' ({words} words, ${cost})",
        "args": {"title": title, "language": language, "words": words, "vendor": "LinguaPro", "reference": ref},
        "reasoning": f"{rng.randint(8, 30)} % of the page's readers last month browsed in {language}; the vendor "
                     f"quotes ${cost} and five working days.",
        "risk": "low",
        "confidence": _conf(rng, 0.6, 0.9),
        "cost_usd": cost,
        "classification": "public",
        "related_tasks": [ref],
    }


ONCALL_TEAMS = ["platform-sre", "database-reliability", "edge-network"]


def oncall_reassign(rng: random.Random, *, team: str | None = None, week: int | None = None) -> Body:
    """Ask for engineers of another domain's on-call team. qa-release-bot (Platform, for a release) and
    ops-handoff-bot (Operations, for an incident) both ask for the same teams: a cross-domain conflict."""
    team = team or rng.choice(ONCALL_TEAMS)
    week = week or rng.randint(47, 49)
    people = rng.randint(1, 3)
    need = rng.choice([f"the {_version(rng)} release freeze", f"incident INC-{rng.randint(1000, 1999)} follow-up",
                       "the payments migration"])
    return {
        "action": "oncall.reassign",
        "resource": f"oncall:{team}/week-{week}",
        "summary": f"Move {people} engineer(s) of {team} to {need} in week {week}",
        "args": {"team": team, "week": week, "engineers": people, "for": need},
        "reasoning": f"{need[0].upper() + need[1:]} needs {people} more engineer(s) with {team} experience in week "
                     f"{week}; the team's rota is shared between Platform and Operations, so the board arbitrates.",
        "risk": "medium",
        "confidence": _conf(rng, 0.6, 0.9),
        "cost_usd": _cost(rng, 0, 40),
        "classification": "internal",
        "related_tasks": [f"ROTA-{week}"],
    }


DEMO_ACTION_TYPES = {  # name: (category in the authority matrix, description, args schema)
    "data.retention_exception": ("compliance_issue", "Keep data past its retention period.", {
        "type": "object", "required": ["customer", "keep_days"],
        "properties": {"customer": {"type": "string"}, "keep_days": {"type": "integer", "minimum": 1}}}),
    "oncall.reassign": ("cross_domain_conflict", "Move on-call engineers between domains.", {
        "type": "object", "required": ["team", "engineers"],
        "properties": {"team": {"type": "string"}, "engineers": {"type": "integer", "minimum": 1}}}),
}


# --- who proposes what ----------------------------------------------------------------------------

Generator = Callable[[random.Random], Body]


DISTINCT_DRAWS = 12  # candidates drawn when resources must be spread (the least proposed one wins)


@dataclass(frozen=True)
class Scenario:
    """A demo agent and the proposals it makes: ``generators`` with relative weights, ``openers`` (what
    it posts first, in order), its ``share`` of the fleet's rate, and whether its resources must be
    spread (``distinct``: each proposal goes to the least proposed of several drawn)."""

    agent: str
    title: str
    generators: tuple[tuple[Generator, float], ...]
    openers: tuple[Generator, ...] = ()
    share: float = 1.0
    distinct: bool = False

    def next_body(self, rng: random.Random, proposed: Counter | None = None) -> Body:
        """A proposal body: an action drawn by the generators' weights; with ``distinct``, of
        ``DISTINCT_DRAWS`` bodies of that action, the one whose resource was proposed least (per
        ``proposed``, resource → times)."""
        funcs, weights = zip(*self.generators, strict=True)
        func = rng.choices(funcs, weights=weights)[0]  # the mix of actions keeps its weights
        if not (self.distinct and proposed is not None):
            return func(rng)
        bodies = [func(rng) for _ in range(DISTINCT_DRAWS)]
        return min(bodies, key=lambda body: proposed[body["resource"]])

    def opener(self, n: int, rng: random.Random) -> Body | None:
        """The ``n``-th opener's body, None after the last."""
        return self.openers[n](rng) if n < len(self.openers) else None


SCENARIOS = (
    Scenario("intake-triage-bot", "Intake triage",
             ((ticket_route, 4), (ticket_flag_legal, 1), (data_retention_exception, 0.5), (billing_refund, 0.7)),
             openers=(functools.partial(ticket_route, confidence=0.72), ticket_flag_legal, data_retention_exception,
                      billing_refund),
             share=3),
    Scenario("content-pipeline-bot", "Content pipeline",
             ((content_publish_article, 1), (translation_order, 0.3), (asset_license_renewal, 0.15)),
             openers=(content_publish_article, translation_order, asset_license_renewal), share=1, distinct=True),
    Scenario("qa-release-bot", "QA and release", ((ticket_file_bug, 3), (release_hold, 1), (oncall_reassign, 0.5)),
             openers=(functools.partial(ticket_file_bug, confidence=0.7),
                      functools.partial(release_hold, risk="medium"),
                      functools.partial(oncall_reassign, team="platform-sre", week=48)), share=2),
    Scenario("ops-handoff-bot", "Ops handoffs",
             ((service_restart, 2), (deploy_rollback, 2), (firewall_update_rule, 1), (oncall_reassign, 0.5),
              (capacity_reserve, 0.3)),
             openers=(functools.partial(deploy_rollback, risk="high"), service_restart,
                      functools.partial(oncall_reassign, team="platform-sre", week=48), capacity_reserve), share=3),
)
AGENT_NAMES = tuple(s.agent for s in SCENARIOS)
ACTIONS = {g.__name__.replace("_", ".", 1): g for s in SCENARIOS for g, _ in s.generators}
