"""Incident metrics from the lifecycle's timestamps, defined as Rootly and Datadog define them:

- **time to acknowledge** (TTA): reported (the first report, or the declaration) → accepted;
- **time to mitigate** (TTM): impact started → mitigated (the impact stopped for users);
- **time to resolve** (TTR): impact started → resolved (the cause is fixed);
- **target met**: TTR ≤ the severity's resolution target. While unresolved: False once past the
  target, else None (not known yet).

``impact_started_at`` defaults to the first report and the team corrects it when the impact started
earlier (``lifecycle.incident_set_impact_start``). Durations are in seconds (None while not reached).
"""
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from .models import Incident


@dataclass(frozen=True)
class Metrics:
    time_to_acknowledge: float | None
    time_to_mitigate: float | None
    time_to_resolve: float | None
    target_seconds: int
    target_met: bool | None
    seconds_to_target: float  # negative when overdue


def _between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def metrics_of(incident: Incident, target_seconds: int, now: datetime | None = None) -> Metrics:
    now = now or timezone.now()
    ttr = _between(incident.impact_started_at, incident.resolved_at)
    if ttr is not None:
        met = ttr <= target_seconds
    elif incident.status in ("declined", "merged"):
        met = None
    else:
        met = False if now > incident.target_due_at else None
    return Metrics(
        time_to_acknowledge=_between(incident.reported_at, incident.accepted_at),
        time_to_mitigate=_between(incident.impact_started_at, incident.mitigated_at),
        time_to_resolve=ttr,
        target_seconds=target_seconds,
        target_met=met,
        seconds_to_target=(incident.target_due_at - now).total_seconds(),
    )


def human(seconds: float | None) -> str:
    """``95`` → ``1 min 35 s``; ``7260`` → ``2 h 1 min``; None → ``—``."""
    if seconds is None:
        return "—"
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
