"""An in-process, read-only snapshot of the governance tables (policies, matrix, action types),
and the version number that also guards the per-process cache of agents' tokens.

Evaluating a proposal must not cost a dozen queries: the snapshot is loaded once and reused until an
admin changes a governed record, which bumps a version number in the shared cache (Redis in
production, so every worker and machine sees it). Each use costs one cache read, and a request reads
it once: within one HTTP request (between Django's ``request_started`` and ``request_finished``) the
version read first is reused (a request sees one governance version from start to end, as it sees
one snapshot), unless the request itself bumps it. Outside requests (tasks, commands, sockets) every
use reads it.
"""
import threading
from dataclasses import dataclass, field

from asgiref.local import Local
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.dispatch import receiver

VERSION_KEY = "orchestra:governance:version"
_lock = threading.Lock()
_memo: dict = {"version": None, "snapshot": None}


@dataclass(frozen=True)
class CompiledPolicy:
    id: int
    version: int | None
    name: str
    priority: int
    is_regulatory: bool
    agent_ids: frozenset
    group_agent_ids: frozenset
    has_agent_condition: bool
    domain_id: int | None
    action_pattern: str
    category: str
    min_risk: str
    max_risk: str
    classification: str
    min_cost_usd: object
    max_cost_usd: object
    outcome: str
    inbox_id: int | None
    escalate_to: str
    quorum: int | None
    min_confidence: float
    sla_seconds: int | None
    expiry_seconds: int | None
    approval_ttl_seconds: int | None = None
    retention: str = ""


@dataclass(frozen=True)
class Snapshot:
    policies: tuple = ()
    matrix: dict = field(default_factory=dict)  # (level, category slug) -> mode
    action_types: dict = field(default_factory=dict)  # name -> (category slug, args_schema)
    enterprise_inbox_id: int | None = None
    category_names: dict = field(default_factory=dict)  # category slug -> its label (ActionCategory.name)
    inboxes: dict = field(default_factory=dict)  # id -> the Inbox row's field values (``inbox``)

    def inbox(self, inbox_id):
        """A fresh ``Inbox`` instance of row ``inbox_id`` as of this version (no query), or None."""
        from .models import Inbox

        values = self.inboxes.get(inbox_id)
        return None if values is None else Inbox(**values)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:
        cache.set(VERSION_KEY, 1, None)


def bump_version(**_) -> None:
    """Invalidate every process's snapshot (signal receiver). Bumped at once, so this process sees its
    own change, and again after commit, so no other process keeps a snapshot read before the commit."""
    _forget_request_version()
    _bump()
    transaction.on_commit(_bump)


def _load() -> Snapshot:
    from .models import ActionCategory, ActionType, AuthorityRule, Inbox, Level, Policy

    policies = []
    qs = Policy.objects.filter(is_active=True).select_related("category").prefetch_related(
        "agents", "agent_groups__agents"
    ).order_by("priority", "id")
    for p in qs:
        agent_ids = frozenset(a.id for a in p.agents.all())
        groups = list(p.agent_groups.all())
        group_agent_ids = frozenset(a.id for g in groups for a in g.agents.all())
        policies.append(CompiledPolicy(
            id=p.id, version=p.version, name=p.name, priority=p.priority, is_regulatory=p.is_regulatory,
            agent_ids=agent_ids, group_agent_ids=group_agent_ids, has_agent_condition=bool(agent_ids or groups),
            domain_id=p.domain_id, action_pattern=p.action_pattern, category=p.category.slug if p.category else "",
            min_risk=p.min_risk, max_risk=p.max_risk, classification=p.classification,
            min_cost_usd=p.min_cost_usd, max_cost_usd=p.max_cost_usd, outcome=p.outcome, inbox_id=p.inbox_id,
            escalate_to=p.escalate_to, quorum=p.quorum, min_confidence=p.min_confidence,
            sla_seconds=p.sla_seconds, expiry_seconds=p.expiry_seconds,
            approval_ttl_seconds=p.approval_ttl_seconds, retention=p.retention,
        ))
    matrix = {(r.level, r.category.slug): r.mode for r in AuthorityRule.objects.select_related("category")}
    action_types = {a.name: (a.category.slug, a.args_schema) for a in ActionType.objects.select_related("category")}
    inbox_fields = [f.attname for f in Inbox._meta.concrete_fields]
    inboxes = {row["id"]: row for row in Inbox.objects.order_by("id").values(*inbox_fields)}
    enterprise = next((pk for pk, row in inboxes.items() if row["level"] == Level.ENTERPRISE), None)
    names = dict(ActionCategory.objects.values_list("slug", "name"))
    return Snapshot(tuple(policies), matrix, action_types, enterprise, names, inboxes)


_request = Local()  # per request (context-local under ASGI): ``active`` and the ``version`` read in it


@receiver(request_started, dispatch_uid="governance-snapshot-request-started")
def _request_started(**_) -> None:
    _request.active, _request.version = True, None


@receiver(request_finished, dispatch_uid="governance-snapshot-request-finished")
def _request_finished(**_) -> None:
    _request.active, _request.version = False, None


def _forget_request_version() -> None:
    if getattr(_request, "version", None) is not None:
        _request.version = None


def version() -> int:
    """The current governance version: one shared-cache read, once per request (module docstring)."""
    value = getattr(_request, "version", None)
    if value is not None:
        return value
    value = cache.get(VERSION_KEY)
    if value is None:
        cache.add(VERSION_KEY, 1, None)
        value = cache.get(VERSION_KEY, 1)
    if getattr(_request, "active", False):
        _request.version = value
    return value


def current() -> Snapshot:
    """The snapshot for the current governance version (reloaded after any change)."""
    version_now = version()
    memo = _memo
    if memo["version"] == version_now and memo["snapshot"] is not None:
        return memo["snapshot"]
    with _lock:
        snapshot = _load()
        _memo.update(version=version_now, snapshot=snapshot)
    return snapshot


def reset() -> None:
    """Forget the process-local snapshot and this request's version (tests)."""
    _memo.update(version=None, snapshot=None)
    _forget_request_version()
