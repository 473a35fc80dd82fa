"""What the API's values look like on the wire, and which text it accepts. Pure functions, no HTTP.

- Timestamps: ISO 8601 in UTC with a ``Z`` and always six fractional digits,
  ``2026-11-03T10:15:30.123456Z`` (the databases keep microseconds; fixed width sorts as text).
- Money (USD): a decimal string with two to four decimals, ``"0.40"``, ``"12.00"``, ``"1.2345"``:
  the stored value (four places) without the trailing zeros beyond the second decimal.
- Text: no NUL character (U+0000: PostgreSQL refuses it in text and in jsonb), no lone surrogate
  (not encodable as UTF-8), and no non-finite number inside JSON. Input carrying one is refused
  (422 naming the field), never silently changed: an agent's or a reviewer's words are stored as sent, or not at all.
"""
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"
MONEY_PATTERN = r"^\d+\.\d{2,4}$"


def timestamp(value: datetime) -> str:
    """``value`` (aware) as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def money(value: Decimal | int | float | str) -> str:
    """USD amount as a string with 2 to 4 decimals: ``Decimal("0.4000")`` -> ``"0.40"``,
    ``Decimal("1.2300")`` -> ``"1.23"``, ``Decimal("1.2345")`` -> ``"1.2345"``."""
    d = Decimal(str(value)).quantize(Decimal("0.0001"))
    text = f"{d:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{whole}.{frac}"


HISTORY_REASON_MAX = 100  # django-simple-history's history_change_reason is a varchar(100)


def change_reason(text: str) -> str:
    """``text`` cut to what a history row's change reason holds (an ellipsis marks the cut). The full
    text is kept where it belongs (``suspended_reason``, ``Escalation.reason``); PostgreSQL refuses a
    longer value outright."""
    return text if len(text) <= HISTORY_REASON_MAX else text[: HISTORY_REASON_MAX - 1] + "…"


def text_problem(value: str) -> str | None:
    """Why no database can store ``value`` as text, or None when it can."""
    if "\x00" in value:
        return "must not contain the NUL character (U+0000)"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (no lone surrogates)"
    return None


def json_problem(value: Any) -> tuple[str, str] | None:
    """The first (path, problem) inside JSON ``value`` that no database stores as sent: a string or key
    that fails ``text_problem``, or a number that is not finite (``NaN``, ``Infinity``: Python's JSON
    parser accepts them, PostgreSQL's jsonb does not). E.g. ``("to_version", "must not contain …")``.
    Iterative, so any nesting the JSON parser took is walked."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return path, problem
        elif isinstance(item, float) and not math.isfinite(item):
            return path, "must be a finite number"
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                problem = text_problem(str(key))
                if problem:
                    return where, f"key {problem}"
                children.append((where, child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(f"{path}.{i}" if path else str(i), child) for i, child in enumerate(item)]))
    return None
