"""Template filters of the inbox lists: a deadline as time left ("in 20 min", "5 min overdue")."""
from django import template
from django.utils import timezone

register = template.Library()


def _span(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} h"
    return f"{round(seconds / 86400)} d"


@register.filter
def time_left(deadline, now=None) -> str:
    """``deadline`` (an aware datetime, or None) relative to ``now`` (default: the current time):
    "in 20 min", "in 3 h", "in 2 d", "5 min overdue", or "—" without one. lists.js keeps it current."""
    if not deadline:
        return "—"
    seconds = (deadline - (now or timezone.now())).total_seconds()
    return f"in {_span(seconds)}" if seconds > 0 else f"{_span(-seconds)} overdue"


@register.filter
def urgency(deadline, now=None) -> str:
    """CSS class of a deadline: ``overdue`` (passed), ``soon`` (within the hour) or "" (later, none)."""
    if not deadline:
        return ""
    seconds = (deadline - (now or timezone.now())).total_seconds()
    return "overdue" if seconds <= 0 else "soon" if seconds <= 3600 else ""
