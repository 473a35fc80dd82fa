"""Policy evaluation: what happens to a proposal, and why. Pure: reads the governance snapshot and
the facts it is given, writes nothing, so submission and the dry-run share it.

The rules, in order (each step's reason is recorded on the proposal and shown to reviewers):
1. Policies are tried by ``priority`` (lower first), ties broken by the lower id; the first whose
   every set condition holds wins. No match: the domain's default inbox, one human (safe fallback,
   never auto-approve; see step 5). An auto-approve policy that cannot
   auto-approve (step 3) hands over to the next matching policy that does not auto-approve, or to
   that fallback.
2. ``forbid`` refuses the proposal.
3. ``auto_approve`` holds only if confidence ≥ the policy's ``min_confidence``, no matching policy
   is regulatory, the authority matrix lets the *agent* level decide the action's category, the
   agent is within its daily budget and uses an approved tool. Otherwise it goes to review; over
   budget or off the tool list it is escalated as a resource request.
4. The authority matrix can raise the level: a category the agent level must escalate is decided
   at least by the domain orchestrator; one the domain must escalate, by the enterprise board.
5. Quorum: the routing policy's, or when it leaves it blank, 2 for high and critical risk, else 1
   (``default_quorum``; README "Quorum and four-eyes", ``Policy.quorum``'s help text). With no
   policy matched: one approver, whatever the risk — what the pinned API contract of a fresh
   install (no policies yet) relies on; the default policies (``seed_governance``) route high-risk
   actions with the risk default. SLA: the policy's, or critical 15 min, high 1 h, medium 4 h, low 24 h.
"""
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase

from .models import RISK_ORDER, Level, Policy
from .snapshot import CompiledPolicy, Snapshot, current

LEVELS = [Level.AGENT, Level.DOMAIN, Level.ENTERPRISE]
DEFAULT_SLA_SECONDS = {"critical": 15 * 60, "high": 60 * 60, "medium": 4 * 60 * 60, "low": 24 * 60 * 60}
RESOURCE_REQUEST = "resource_request"


@dataclass(frozen=True)
class Facts:
    """What evaluation looks at. ``cost_usd`` in USD; ``over_budget``/``off_tool_list`` from limits."""

    agent_id: int
    domain_id: int
    action: str
    risk: str
    confidence: float
    cost_usd: Decimal
    classification: str
    over_budget: bool = False
    off_tool_list: bool = False
    tool: str = ""


@dataclass
class Evaluation:
    outcome: str  # auto_approve | review | forbid
    level: str
    category: str
    quorum: int = 1
    sla_seconds: int | None = None
    expiry_seconds: int | None = None
    policy_id: int | None = None
    policy_version: int | None = None
    policy_name: str = ""
    approval_ttl_seconds: int | None = None  # the policy's; None = the default (24 h)
    retention: str = ""  # the policy's audit retention class ("" = by classification)
    target_inbox_id: int | None = None  # for review at the agent level; other levels use level inboxes
    reasons: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return " ".join(self.reasons)


def default_quorum(risk: str) -> int:
    """Distinct approvers needed when the routing policy leaves its quorum blank."""
    return 2 if risk in ("high", "critical") else 1


def required_level(snapshot: Snapshot, category: str) -> tuple[str, str]:
    """The lowest level the authority matrix lets decide ``category``, and why.

    The first level that *can decide* it decides it. A category the agent level *must escalate*
    needs a human (review at the first line, never auto-approval); one the domain orchestrator must
    escalate goes to the enterprise board, as does what the board itself must escalate (to named
    humans). A category the matrix does not mention is not raised."""
    floor, why = Level.AGENT, ""
    for level in LEVELS:
        mode = snapshot.matrix.get((level, category))
        label = Level(level).label.lower()
        if mode == "can_decide":
            if LEVELS.index(level) >= LEVELS.index(floor):
                return level, why or f"the {label} level can decide {category.replace('_', ' ')}"
            return floor, why
        if mode == "must_escalate" and level != Level.AGENT:
            floor, why = Level.ENTERPRISE, f"the {label} level must escalate {category.replace('_', ' ')}"
    return floor, why


def agent_may_decide(snapshot: Snapshot, category: str) -> bool:
    return snapshot.matrix.get((Level.AGENT, category)) == "can_decide"


def matches(p: CompiledPolicy, f: Facts, category: str) -> bool:
    if p.has_agent_condition and f.agent_id not in p.agent_ids and f.agent_id not in p.group_agent_ids:
        return False
    if p.domain_id is not None and p.domain_id != f.domain_id:
        return False
    if p.action_pattern and not fnmatchcase(f.action, p.action_pattern):
        return False
    if p.category and p.category != category:
        return False
    if p.min_risk and RISK_ORDER[f.risk] < RISK_ORDER[p.min_risk]:
        return False
    if p.max_risk and RISK_ORDER[f.risk] > RISK_ORDER[p.max_risk]:
        return False
    if p.classification and p.classification != f.classification:
        return False
    if p.min_cost_usd is not None and f.cost_usd < p.min_cost_usd:
        return False
    return p.max_cost_usd is None or f.cost_usd <= p.max_cost_usd


def evaluate(f: Facts, snapshot: Snapshot | None = None) -> Evaluation:
    """Decide what happens to a proposal with facts ``f``. See the module docstring for the rules."""
    snap = snapshot or current()
    category = snap.action_types.get(f.action, ("", None))[0]
    matching = [p for p in snap.policies if matches(p, f, category)]
    ev = Evaluation(outcome="review", level=Level.AGENT, category=category, quorum=1,
                    sla_seconds=DEFAULT_SLA_SECONDS[f.risk])
    winner = matching[0] if matching else None
    if winner is not None and winner.outcome == Policy.Outcome.AUTO_APPROVE:
        blockers = _auto_approve_blockers(winner, matching, f, snap, category)
        ev.reasons.append(f"Policy “{winner.name}” (priority {winner.priority}) matched first.")
        if not blockers:
            _adopt(ev, winner, f)
            ev.outcome = "auto_approve"
            ev.reasons.append(f"Auto-approved: confidence {f.confidence:.2f} ≥ {winner.min_confidence:.2f}.")
            return ev
        ev.reasons.append("Not auto-approved: " + "; ".join(blockers) + ".")
        # the next matching policy that does not auto-approve routes it instead
        winner = next((p for p in matching if p.outcome != Policy.Outcome.AUTO_APPROVE), None)
        if winner is not None:
            ev.reasons.append(f"Next matching policy: “{winner.name}” (priority {winner.priority}).")
    elif winner is not None:
        ev.reasons.append(f"Policy “{winner.name}” (priority {winner.priority}) matched first.")

    if winner is None:
        who = "two reviewers" if ev.quorum == 2 else "one reviewer"
        ev.reasons.append(f"No other policy matched: safe fallback to the domain's default inbox ({who})."
                          if ev.reasons else
                          f"No policy matched: safe fallback to the domain's default inbox ({who}).")
        return _apply_matrix(_resource_request(ev, f), snap, f)
    _adopt(ev, winner, f)
    if winner.outcome == Policy.Outcome.FORBID:
        ev.outcome = "forbid"
        ev.reasons.append("It forbids this action for this agent.")
        return ev
    if winner.outcome == Policy.Outcome.ESCALATE:
        ev.level = winner.escalate_to or Level.DOMAIN
        ev.reasons.append(f"It escalates to the {Level(ev.level).label.lower()} level.")
    return _apply_matrix(_resource_request(ev, f), snap, f)


def _adopt(ev: Evaluation, p: CompiledPolicy, f: Facts) -> None:
    """The routing policy's settings, with the documented defaults where it leaves them blank."""
    ev.policy_id, ev.policy_version, ev.policy_name = p.id, p.version, p.name
    ev.quorum = p.quorum or default_quorum(f.risk)
    ev.sla_seconds = p.sla_seconds or DEFAULT_SLA_SECONDS[f.risk]
    ev.expiry_seconds = p.expiry_seconds
    ev.approval_ttl_seconds, ev.retention = p.approval_ttl_seconds, p.retention
    ev.target_inbox_id = p.inbox_id


def _auto_approve_blockers(winner, matching, f: Facts, snap: Snapshot, category: str) -> list[str]:
    blockers = []
    regulatory = [p for p in matching if p.is_regulatory]
    if regulatory:
        blockers.append(f"regulatory policy “{regulatory[0].name}” applies")
    if f.confidence < winner.min_confidence:
        blockers.append(f"confidence {f.confidence:.2f} is below {winner.min_confidence:.2f}")
    if not category:
        blockers.append(f"{f.action} has no category in the authority matrix")
    elif not agent_may_decide(snap, category):
        blockers.append(f"the agent level may not decide {category.replace('_', ' ')}")
    if f.over_budget:
        blockers.append("the agent's daily budget would be exceeded")
    if f.off_tool_list:
        blockers.append(f"tool “{f.tool}” is not on the agent's approved list")
    return blockers


def _resource_request(ev: Evaluation, f: Facts) -> Evaluation:
    """Over budget or off the approved tool list: escalated to the domain orchestrator as a resource
    request (the matrix: agents must escalate resource requests)."""
    if not (f.over_budget or f.off_tool_list):
        return ev
    why = "the daily budget would be exceeded" if f.over_budget else f"tool “{f.tool}” is not on the approved list"
    ev.category = RESOURCE_REQUEST
    if LEVELS.index(ev.level) < LEVELS.index(Level.DOMAIN):
        ev.level = Level.DOMAIN
    ev.reasons.append(f"Escalated to the domain orchestrator as a resource request: {why}.")
    return ev


def _apply_matrix(ev: Evaluation, snap: Snapshot, f: Facts) -> Evaluation:
    if not ev.category:
        return ev
    level, why = required_level(snap, ev.category)
    if LEVELS.index(level) > LEVELS.index(ev.level):
        ev.level = level
        ev.reasons.append(f"Authority matrix: {why}, so the {Level(level).label.lower()} level decides.")
    return ev
