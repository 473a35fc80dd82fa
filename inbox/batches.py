"""Batch decisions: a reviewer decides several proposals in one request (the parallel tool calls of
one agent step, or any selection from an inbox).

``proposals_decide`` is a service over ``inbox.decisions.proposal_decide``: each item is checked with
``permissions.access_proposal(…, for_decision=True)`` and decided by ``proposal_decide`` in its own
transaction, with its own lock, vote, audit and events, so each proposal is still decided exactly
once, and one item's failure (already decided, frozen, not yours, an edit that breaks the schema)
neither undoes nor stops the others: it is reported for that proposal. A proposal named twice in one
request is refused as a whole (422) before anything is decided.
"""
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from orchestra_site.errors import ApplicationError, InvalidInput

from . import permissions
from .decisions import proposal_decide
from .models import Proposal

MAX_ITEMS = 100


@dataclass(frozen=True)
class DecisionItem:
    """One decision of a batch: as ``proposal_decide`` takes it, for the proposal ``proposal_id``."""

    proposal_id: UUID
    verdict: str
    comment: str = ""
    args: dict[str, Any] | None = None
    supersede_conflicts: bool = False


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item: ``proposal`` (as it is after the decision or vote) or ``error``."""

    proposal_id: UUID
    proposal: Proposal | None = None
    error: ApplicationError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def proposals_decide(*, reviewer, items: list[DecisionItem]) -> list[ItemOutcome]:
    """Decide each of ``items`` as ``reviewer`` (a user), in order; one outcome per item, same order.

    Raises ``InvalidInput`` (422, field ``decisions.<n>.proposal_id``) when a proposal is named twice,
    or ``decisions`` when there are none or more than ``MAX_ITEMS``; nothing is decided then. Every
    other error is caught per item and returned in its outcome: ``NotFound`` (404: missing, or not
    visible to ``reviewer``), ``Forbidden`` (403: may view, not decide), ``ProposalAlreadyDecided`` and
    ``Conflict`` (409), ``InvalidInput`` (422: verdict not allowed, missing comment, bad args).
    """
    if not items or len(items) > MAX_ITEMS:
        raise InvalidInput(f"Send 1 to {MAX_ITEMS} decisions.", field="decisions")
    seen: set[UUID] = set()
    for n, item in enumerate(items):
        if item.proposal_id in seen:
            raise InvalidInput("Each proposal may be decided once per request.", field=f"decisions.{n}.proposal_id",
                               code="duplicate")
        seen.add(item.proposal_id)
    return [_decide_one(reviewer, item) for item in items]


def _decide_one(reviewer, item: DecisionItem) -> ItemOutcome:
    try:
        proposal = permissions.access_proposal(reviewer, item.proposal_id, for_decision=True)
        decided = proposal_decide(proposal=proposal, reviewer=reviewer, verdict=item.verdict, comment=item.comment,
                                  args=item.args, supersede_conflicts=item.supersede_conflicts)
    except ApplicationError as error:
        return ItemOutcome(item.proposal_id, error=error)
    return ItemOutcome(item.proposal_id, proposal=decided)
