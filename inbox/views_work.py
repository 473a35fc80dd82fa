"""The reviewer's own pages: the home (a simple one for a reviewer of one inbox or a few; for broad
roles what needs them first, then their inboxes grouped by domain and level) and My work."""
from django.utils import timezone

from governance.models import Level

from . import permissions, selectors
from .views import page, reviewer_view

LEVEL_ORDER = {Level.AGENT: 0, Level.DOMAIN: 1, Level.ENTERPRISE: 2}


def _section(qs, limit: int = selectors.WORK_LIMIT, *, user=None) -> dict:
    """The first ``limit`` rows of ``qs`` and whether there are more (one query; with ``user``, a
    page of proposals with what a list row shows, ``selectors.page_of``: two queries)."""
    rows = selectors.page_of(qs, 0, limit + 1, user=user) if user is not None else list(qs[:limit + 1])
    return {"rows": rows[:limit], "more": len(rows) > limit}


def group_inboxes(inboxes) -> list[dict]:
    """``inboxes`` (with ``domain`` loaded) grouped by domain (by name; those without one last, as
    "Enterprise-wide"), then by level (agent, domain orchestrator, enterprise):
    ``[{"domain": Domain | None, "pending": int, "levels": [{"level": str, "label": str, "inboxes": [Inbox]}]}]``."""
    groups: dict = {}
    for inbox in inboxes:
        group = groups.setdefault(inbox.domain_id, {"domain": inbox.domain, "pending": 0, "levels": {}})
        group["pending"] += inbox.pending_count
        group["levels"].setdefault(inbox.level, []).append(inbox)
    ordered = sorted(groups.values(), key=lambda g: (g["domain"] is None, g["domain"].name if g["domain"] else ""))
    return [{**g, "levels": [{"level": level, "label": Level(level).label, "inboxes": boxes}
                             for level, boxes in sorted(g["levels"].items(), key=lambda kv: LEVEL_ORDER.get(kv[0], 9))]}
            for g in ordered]


@reviewer_view
def home(request):
    """A reviewer's inboxes. Broad roles (those who may view governance: orchestrators, the board,
    auditors, admins) first get what needs them (escalated to them, overdue, frozen), then their
    inboxes grouped by domain and level; everyone else the cards of their inboxes."""
    user = request.user
    if not permissions.may(user, "view_governance"):
        return page(request, "inbox/home.html", {"broad": False})
    inboxes = list(selectors.inboxes_with_pending_counts(user))
    return page(request, "inbox/home.html", {
        "broad": True,
        "nav_inboxes": inboxes,  # evaluated once, for the sidebar too
        "groups": group_inboxes(inboxes),
        "escalated": _section(selectors.escalated_to(user), 10),
        "overdue": _section(selectors.overdue_for(user), 10),
        "frozen": _section(selectors.frozen_for(user), 10),
        "now": timezone.now(),
    })


@reviewer_view
def my_work(request):
    """What waits on me (first what waits for my second approval), what I decided, what I escalated (and where it
    went), what I approved that still waits for its quorum."""
    user = request.user
    return page(request, "inbox/my_work.html", {
        "second": _section(selectors.second_approval_for(user), user=user),
        "waiting": _section(selectors.waiting_on(user), user=user),
        "decided": _section(selectors.decided_by(user)),
        "escalated": _section(selectors.escalated_by(user)),
        "quorum": _section(selectors.awaiting_quorum(user)),
        "now": timezone.now(),
    })
