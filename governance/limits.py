"""Per-agent and per-domain limits: rate (proposals per minute) and approved tools.

The daily budget (USD) counts proposals, so it is checked where they live: ``inbox.budget``.

Rate limiting uses the ``limits`` library (moving window) on ``RATELIMIT_STORAGE_URL``: Redis in
production, so every worker and machine counts together; process memory when embedded.
"""
from functools import cache

from django.conf import settings
from django.utils import timezone
from limits import RateLimitItemPerMinute, storage, strategies

from orchestra_site.errors import RateLimited


@cache
def _limiter() -> strategies.MovingWindowRateLimiter:
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(settings.RATELIMIT_STORAGE_URL))


def _hit(per_minute: int, *key: str) -> int | None:
    """Count one proposal against ``key``; None if allowed, else seconds until one is allowed."""
    item = RateLimitItemPerMinute(per_minute)
    limiter = _limiter()
    if limiter.hit(item, *key):
        return None
    reset_at = limiter.get_window_stats(item, *key).reset_time
    return max(1, int(reset_at - timezone.now().timestamp()) + 1)


def check_rate(agent) -> None:
    """Raise ``RateLimited`` (429, with ``retry_after`` seconds) when the agent or its domain is over its
    proposals-per-minute limit. Limits are set on the Agent and Domain in Django admin."""
    if agent.rate_limit_per_minute:
        wait = _hit(agent.rate_limit_per_minute, "agent", str(agent.pk))
        if wait:
            raise RateLimited(f"Agent {agent.name} is over {agent.rate_limit_per_minute} proposals per minute.",
                              retry_after=wait, limit="agent")
    domain = agent.domain
    if domain.rate_limit_per_minute:
        wait = _hit(domain.rate_limit_per_minute, "domain", str(domain.pk))
        if wait:
            raise RateLimited(f"Domain {domain.name} is over {domain.rate_limit_per_minute} proposals per minute.",
                              retry_after=wait, limit="domain")


def tool_of(action: str, args: dict) -> str:
    """The tool a proposal uses: ``args["tool"]`` if given, else the action's first segment."""
    tool = args.get("tool") if isinstance(args, dict) else None
    return str(tool) if tool else action.split(".", 1)[0]


def off_tool_list(agent, tool: str) -> bool:
    return bool(agent.approved_tools) and tool not in agent.approved_tools
