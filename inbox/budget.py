"""The daily budget (USD) of agents and domains: what today's proposals cost, and whether one more fits.

Limits are set on the Agent and the Domain (``daily_budget_usd``); over budget nothing is
auto-approved (the proposal is escalated as a resource request, see ``governance.policies``).
The check and the spend are atomic: ``lock_budgets`` takes the row locks that serialise concurrent
submissions of one agent (and domain) while the check and the INSERT happen in one transaction.
"""
from datetime import UTC, datetime, time
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from governance.models import Agent, Domain

from .models import Proposal

LIVE = (Proposal.Status.PENDING, Proposal.Status.APPROVED, Proposal.Status.EDITED)


def spent_today(**owner) -> Decimal:
    """Estimated cost (USD) of today's (UTC) proposals that were approved or still may be."""
    start = timezone.make_aware(datetime.combine(timezone.now().date(), time.min), UTC)
    total = Proposal.objects.filter(created_at__gte=start, status__in=LIVE, **owner).aggregate(s=Sum("cost_usd"))["s"]
    return total or Decimal("0")


def over_budget(agent: Agent, cost_usd: Decimal) -> bool:
    """Would ``cost_usd`` more take the agent or its domain over its daily budget?"""
    if agent.daily_budget_usd is not None and spent_today(agent=agent) + cost_usd > agent.daily_budget_usd:
        return True
    budget = agent.domain.daily_budget_usd
    return budget is not None and spent_today(agent__domain=agent.domain) + cost_usd > budget


def has_budget(agent: Agent) -> bool:
    return agent.daily_budget_usd is not None or agent.domain.daily_budget_usd is not None


def lock_budgets(agent: Agent) -> None:
    """Inside a transaction: lock the agent's row (when the agent has a budget) and its domain's (when
    the domain has one), so that a concurrent submission of the same agent or domain waits until this
    one has committed its proposal, and then counts it (PostgreSQL's READ COMMITTED: the next
    statement sees what was committed meanwhile). Always agent first, then domain, so two submissions
    cannot deadlock. ``FOR NO KEY UPDATE``: it does not block the inserts and updates that merely
    reference the row (a proposal's foreign key to its agent, an agent's to its domain). On SQLite,
    ``BEGIN IMMEDIATE`` already serialises the transactions. Called by ``inbox.submission`` only when
    ``has_budget`` (no lock, no query otherwise)."""
    if agent.daily_budget_usd is not None:
        Agent.objects.select_for_update(no_key=True).filter(pk=agent.pk).values_list("pk").first()
    if agent.domain.daily_budget_usd is not None:
        Domain.objects.select_for_update(no_key=True).filter(pk=agent.domain_id).values_list("pk").first()
