"""The demo fleet's runtime: agent threads posting scenario proposals through the real HTTP API.

Nothing here touches the database: the agents use ``orchestra_client`` like any external agent would.
What they propose comes from :mod:`inbox.demo.scenarios`; ``manage.py run_demo_fleet`` only mints
tokens, runs a :class:`Fleet` and revokes the tokens.
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable

from inbox.demo.scenarios import SCENARIOS, Scenario
from orchestra_client import (
    DecisionTimeout,
    Forbidden,
    OrchestraClient,
    OrchestraError,
    Proposal,
    RateLimited,
    Unauthorized,
)

# --- the fleet ------------------------------------------------------------------------------------

UNATTRIBUTED = ("expired", "superseded")  # final states nobody "decided"
OPENER_GAP = 6.0  # seconds, at most, between an agent's openers
NOT_DECISIONS = ("submitted", "errors", "skipped (too many pending)")


def _names(names: list[str]) -> str:
    names = list(dict.fromkeys(names))  # each once, in order
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _deciders(p: Proposal) -> str:
    """Who decided, from the votes: ``by alice``; ``by alice and bob`` (a quorum); for an edit ``(edited by
    alice, approved by alice and bob; edited args {…})``. Without votes, the decision's ``decided_by``."""
    votes = p.votes
    if p.edited:
        editors = [v["reviewer"] for v in votes if v["verdict"] == "edit"]
        approvers = [v["reviewer"] for v in votes if v["verdict"] in ("approve", "edit")]
        if not editors:
            return f" by {p.decided_by} (edited args {p.args_to_run})" if p.decided_by else \
                f" (edited args {p.args_to_run})"
        return f" (edited by {_names(editors)}, approved by {_names(approvers)}; edited args {p.args_to_run})"
    deciding = {"approved": ("approve",), "rejected": ("reject",), "answered": ("answer",)}.get(p.status, ())
    names = [v["reviewer"] for v in votes if v["verdict"] in deciding]
    if names:
        return f" by {_names(names)}"
    return f" by {p.decided_by}" if p.decided_by else ""


def describe(agent: str, p: Proposal) -> str:
    """One line per decision, e.g. ``ops-handoff-bot: deploy.rollback service:payments → approved by alice``,
    with who decided (``_deciders``: who edited and who approved, and the edited args) and every reason
    given, whole: the decision's comment (a reviewer's, or the policy's reason), or each vote's when
    several reviewers gave one."""
    line = f"{agent}: {p.action} {p.raw.get('resource', '')} \u2192 {p.status.replace('_', ' ')}"
    who = _deciders(p)
    line += who if who else ("" if p.status in UNATTRIBUTED else " by policy")
    comments = [(v["reviewer"], v["comment"]) for v in p.votes if v.get("comment")]
    if len(comments) > 1:
        line += "".join(f" \u2014 {name}: \u201c{text}\u201d" for name, text in comments)
    elif p.comment:
        line += f" \u2014 \u201c{p.comment}\u201d"
    elif comments:
        line += f" \u2014 \u201c{comments[0][1]}\u201d"
    return line


class Fleet:
    """Runs ``workers`` agent threads cycling over ``tokens`` (agent name → plain token), posting
    ``rate`` proposals per second in total (Poisson arrivals) through ``base_url``. Each proposal
    gets a daemon thread that long-polls for its decision and reports it with ``emit``; an agent
    keeps at most ``max_pending`` proposals waiting and pauses while it has that many."""

    def __init__(self, base_url: str, tokens: dict[str, str], *, rate: float = 0.2, workers: int | None = None,
                 max_pending: int = 20, emit: Callable[[str], None] = print, seed: int | None = None,
                 client_factory: Callable[[str, str], OrchestraClient] | None = None):
        if rate <= 0:
            raise ValueError("rate must be positive (proposals per second)")
        self.base_url = base_url
        self.scenarios = [s for s in SCENARIOS if s.agent in tokens]
        self.workers = workers or len(self.scenarios)
        self.rate = rate
        self.proposed: dict[str, Counter] = defaultdict(Counter)  # agent -> resource -> times proposed
        self.max_pending = max_pending
        self.emit = emit
        self.rng = random.Random(seed)
        make = client_factory or (lambda url, token: OrchestraClient(url, token, timeout=10.0))
        self.clients = {s.agent: make(base_url, tokens[s.agent]) for s in self.scenarios}
        self.slots = {s.agent: threading.BoundedSemaphore(max_pending) for s in self.scenarios}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.stats: dict[str, Counter] = defaultdict(Counter)
        self.threads: list[threading.Thread] = []

    def _say(self, line: str) -> None:
        with self.lock:
            self.emit(line)

    def _count(self, agent: str, key: str) -> None:
        with self.lock:
            self.stats[agent][key] += 1

    def thread_rate(self, n: int) -> float:
        """Proposals per second of agent thread ``n``: the fleet's rate, shared by the scenarios' ``share``."""
        shares = [self.scenarios[i % len(self.scenarios)].share for i in range(self.workers)]
        return self.rate * shares[n] / sum(shares)

    def start(self) -> None:
        for n in range(self.workers):
            scenario = self.scenarios[n % len(self.scenarios)]
            rng = random.Random(self.rng.random())
            t = threading.Thread(target=self._work, args=(scenario, rng, n), name=f"fleet-{scenario.agent}-{n}",
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def run(self, duration: float = 0) -> None:
        """Start, then block for ``duration`` seconds (0 = until interrupted); stops on return."""
        self.start()
        try:
            if duration > 0:
                self.stop.wait(duration)
            else:
                while not self.stop.wait(3600):
                    pass
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)
        for client in self.clients.values():
            client.close()

    def _work(self, scenario: Scenario, rng: random.Random, n: int) -> None:
        per_worker = self.thread_rate(n)
        # the first thread of each agent posts its openers a few seconds apart (every demo inbox has work
        # within a minute), then proposals arrive at the agent's share of the rate
        openers = 0 if n < len(self.scenarios) else len(scenario.openers)
        delay = rng.uniform(0.5, 2.0) + n * 0.5
        while not self.stop.wait(delay):
            body = scenario.opener(openers, rng)
            if body is not None:
                openers += 1
                delay = rng.uniform(OPENER_GAP / 2, OPENER_GAP) if openers < len(scenario.openers) else \
                    rng.expovariate(per_worker)
            else:
                delay = rng.expovariate(per_worker)
            slot = self.slots[scenario.agent]
            if not slot.acquire(blocking=False):
                self._count(scenario.agent, "skipped (too many pending)")
                continue
            try:
                self._submit(scenario, rng, slot, body)
            except RateLimited as exc:
                slot.release()
                delay = max(delay, exc.retry_after or 5)
                self._say(f"{scenario.agent}: rate limited; next proposal in {delay:.0f} s")
            except (Unauthorized, Forbidden) as exc:
                slot.release()
                self._count(scenario.agent, "errors")
                self._say(f"{scenario.agent}: {exc}; pausing 30 s")
                delay = max(delay, 30)
            except OrchestraError as exc:
                slot.release()
                self._count(scenario.agent, "errors")
                self._say(f"{scenario.agent}: submit failed: {exc}")
            except Exception as exc:  # a demo agent must not die silently
                slot.release()
                self._count(scenario.agent, "errors")
                self._say(f"{scenario.agent}: unexpected {type(exc).__name__}: {exc}")

    def _submit(self, scenario: Scenario, rng: random.Random, slot: threading.BoundedSemaphore,
                body: dict | None = None) -> None:
        with self.lock:
            body = body or scenario.next_body(rng, self.proposed[scenario.agent])
            self.proposed[scenario.agent][body["resource"]] += 1
        p = self.clients[scenario.agent].submit(**body)
        self._count(scenario.agent, "submitted")
        self._say(f"{scenario.agent}: proposed {p.action} {body.get('resource', '')} "
                  f"[{body['risk']}, {body['confidence']:.0%}] \u2192 {p.raw.get('inbox') or 'decided at once'}")
        if not p.pending:  # decided by a policy right away
            slot.release()
            self._decided(scenario.agent, p)
            return
        threading.Thread(target=self._await, args=(scenario.agent, p, slot), daemon=True,
                         name=f"wait-{p.id}").start()

    def _await(self, agent: str, p: Proposal, slot: threading.BoundedSemaphore) -> None:
        client = self.clients[agent]
        try:
            while not self.stop.is_set():
                try:
                    self._decided(agent, client.wait(p.id, timeout=30))
                    return
                except DecisionTimeout:
                    continue
                except Exception as exc:  # includes a client closed by shutdown()
                    if self.stop.is_set():
                        return
                    self._say(f"{agent}: waiting for {p.id} failed: {exc}; retrying in 5 s")
                    self.stop.wait(5)
        finally:
            slot.release()

    def _decided(self, agent: str, p: Proposal) -> None:
        self._count(agent, p.status)
        self._say(describe(agent, p))

    def summary(self) -> list[str]:
        """Lines: per agent, how many proposals were submitted and how they were decided."""
        with self.lock:
            lines = []
            for s in self.scenarios:
                c = self.stats.get(s.agent, Counter())
                decided = sum(v for k, v in c.items() if k not in NOT_DECISIONS)
                rest = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(c.items()) if k != "submitted")
                lines.append(f"{s.agent}: {c['submitted']} submitted, {decided} decided"
                             f"{', ' + rest if rest else ''}, {c['submitted'] - decided} still pending")
            return lines


def wait_until_up(client: OrchestraClient, *, timeout: float = 60.0, stop: threading.Event | None = None) -> bool:
    """True once the API answers (any HTTP answer counts), False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        try:
            client.list(limit=1)
            return True
        except OrchestraError as exc:
            if exc.status is not None:
                return True
        time.sleep(0.5)
    return False
