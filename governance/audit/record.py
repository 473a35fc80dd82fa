"""Writing the audit trail: ``audit_record`` and ``audit_record_many``, called by the service that makes
the change, inside its transaction (``transaction.atomic``): if the change rolls back the event goes
with it, and if the event cannot be written the change fails with it. Nothing waits on the chain: the
event and its unsealed ``AuditSeal`` row are two INSERTs; ``seal.audit_seal`` links them later.
"""
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from .context import current_trace_id, current_workflow
from .models import ActorType, AuditAction, AuditEvent, AuditSeal, Retention

# Compliance-relevant whatever the policy says: who may do what, and what was refused or removed.
COMPLIANCE_ACTIONS = {AuditAction.PERMISSION_CHANGE, AuditAction.POLICY_CHANGE, AuditAction.KILL_SWITCH,
                      AuditAction.PURGE, AuditAction.EXECUTION_REFUSED}
SIGNIFICANT_ACTIONS = {AuditAction.ESCALATION, AuditAction.EXECUTION, AuditAction.INCIDENT,
                       AuditAction.CONFIGURATION}
DETAIL_KEYS = ("context", "options_considered", "decision", "reasoning", "outcome")


class NotInTransaction(RuntimeError):
    """``audit_record`` was called outside a transaction: the event could outlive a rolled-back change."""


@dataclass
class Entry:
    """One event to write (see ``audit_record`` for the fields)."""

    action_type: str
    summary: str
    actor: object = None
    status: str = ""
    domain: str = ""
    details: dict = field(default_factory=dict)
    classification: str = "internal"
    related_tasks: list = field(default_factory=list)
    proposal_id: object = None
    incident_id: str = ""
    policy_id: int | None = None
    policy_version: int | None = None
    policy_retention: str = ""
    workflow: str | None = None
    trace_id: str | None = None


def actor_fields(actor) -> tuple[str, str, str]:
    """(actor_type, actor_id, actor_name) of an ``Agent``, a user, or None (the system)."""
    from governance.models import Agent

    if actor is None:
        return ActorType.SYSTEM, "", "system"
    if isinstance(actor, Agent):
        return ActorType.AGENT, str(actor.pk), actor.name
    return ActorType.USER, str(actor.pk), actor.get_username()


def retention_for(action_type: str, classification: str, policy_retention: str = "",
                  significant: bool = False) -> str:
    """The retention class of an event: the policy's own class when it names one; else compliance for
    sensitive events and for ``COMPLIANCE_ACTIONS``; significant for ``SIGNIFICANT_ACTIONS`` and when
    the caller says so (high or critical risk); else standard."""
    if policy_retention:
        return policy_retention
    if classification == "sensitive" or action_type in COMPLIANCE_ACTIONS:
        return Retention.COMPLIANCE
    if significant or action_type in SIGNIFICANT_ACTIONS:
        return Retention.SIGNIFICANT
    return Retention.STANDARD


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _event(e: Entry, now, significant: bool) -> AuditEvent:
    actor_type, actor_id, actor_name = actor_fields(e.actor)
    details = {k: _jsonable(v) for k, v in (e.details or {}).items() if v not in (None, "", [], {})}
    unknown = set(details) - set(DETAIL_KEYS)
    if unknown:
        raise ValueError(f"audit details take only {', '.join(DETAIL_KEYS)}; got {', '.join(sorted(unknown))}")
    return AuditEvent(
        timestamp=now, actor_type=actor_type, actor_id=actor_id, actor_name=actor_name[:150],
        action_type=e.action_type, status=e.status[:30], domain=e.domain or "", summary=e.summary[:500],
        details=details, classification=e.classification or "internal",
        related_tasks=[str(t) for t in (e.related_tasks or [])], proposal_id=e.proposal_id,
        incident_id=str(e.incident_id or ""), policy_id=e.policy_id, policy_version=e.policy_version,
        trace_id=e.trace_id if e.trace_id is not None else current_trace_id(),
        workflow=(e.workflow if e.workflow is not None else current_workflow())[:120],
        retention=retention_for(e.action_type, e.classification, e.policy_retention, significant),
    )


def audit_record_many(entries: list[Entry], *, significant: bool = False) -> list[AuditEvent]:
    """Write several events (one INSERT for the events, one for their seals). Must run inside the
    transaction of the change they record; raises ``NotInTransaction`` otherwise and ``ValueError``
    for a ``details`` key outside ``DETAIL_KEYS``."""
    if not entries:
        return []
    if not connection.in_atomic_block:
        raise NotInTransaction("Write audit events inside the transaction of the change they record.")
    now = timezone.now()
    events = [_event(e, now, significant) for e in entries]
    if connection.vendor == "postgresql":
        _insert_with_seals(events)
    else:
        AuditEvent.objects.bulk_create(events)
        AuditSeal.objects.bulk_create(
            [AuditSeal(event_id=ev.id, event_timestamp=ev.timestamp, retention=ev.retention) for ev in events]
        )
    return events


def _insert_with_seals(events: list[AuditEvent]) -> None:
    """PostgreSQL: the events and their unsealed links in one statement (one round trip on the hot path):
    ``WITH e AS (INSERT INTO event … RETURNING …) INSERT INTO seal SELECT … FROM e``."""
    fields = AuditEvent._meta.local_concrete_fields
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [f.get_db_prep_save(getattr(ev, f.attname), connection) for ev in events for f in fields]
    # Table and column names come from the models; every value is a parameter.
    columns = ", ".join(quote(f.column) for f in fields)
    sql = (
        f"WITH e AS (INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES {', '.join([row] * len(events))} RETURNING id, timestamp, retention) "
        f"INSERT INTO {quote(AuditSeal._meta.db_table)} (event_id, event_timestamp, retention, leaf, chain) "
        "SELECT id, timestamp, retention, '', '' FROM e"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def audit_record(action_type: str, summary: str, *, actor=None, significant: bool = False, **fields) -> AuditEvent:
    """Write one audit event in the current transaction and return it.

    ``actor``: the ``Agent``, the user, or None for the system (timers, the sealer, the purge).
    ``fields``: ``status`` (outcome in a word), ``domain`` (slug), ``details`` ({``context``,
    ``options_considered``, ``decision``, ``reasoning``, ``outcome``}), ``classification``
    (public | internal | sensitive), ``related_tasks`` (ids), ``proposal_id``, ``incident_id``,
    ``policy_id``, ``policy_version`` (the policy's own version), ``policy_retention`` (the policy's
    retention class, if it sets one), ``workflow`` and ``trace_id`` (default: the request's, from
    ``context``). ``significant`` raises a standard event to the significant retention class.
    Raises ``NotInTransaction`` outside a transaction."""
    return audit_record_many([Entry(action_type, summary, actor=actor, **fields)], significant=significant)[0]


def canonical(event: AuditEvent) -> bytes:
    """The event's content as canonical JSON (sorted keys, no spaces, UTC timestamp with
    microseconds): what its seal's ``leaf`` digests."""
    ts = event.timestamp.astimezone(dt.UTC)
    content = {
        "id": str(event.id), "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_type": event.actor_type, "actor_id": event.actor_id, "actor_name": event.actor_name,
        "action_type": event.action_type, "status": event.status, "domain": event.domain,
        "summary": event.summary, "details": event.details, "classification": event.classification,
        "related_tasks": event.related_tasks, "proposal_id": str(event.proposal_id) if event.proposal_id else None,
        "incident_id": event.incident_id, "policy_id": event.policy_id, "policy_version": event.policy_version,
        "trace_id": event.trace_id, "workflow": event.workflow, "retention": event.retention,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_of(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()
