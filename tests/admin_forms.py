"""Helpers for tests that drive Django admin like a browser: the POST data of a change form, an action."""
import json
from decimal import Decimal

from django.db import models
from django.forms.models import model_to_dict


def _value(field, value):
    if isinstance(field, models.JSONField):
        return json.dumps(value)
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or hasattr(value, "model"):
        return [getattr(v, "pk", v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def form_data(obj, *, inlines=(), **changes) -> dict:
    """The POST data of ``obj``'s admin change form (unchecked boxes left out), with ``changes``;
    ``inlines``: prefixes of the inline formsets on the page (sent empty)."""
    fields = {f.name: f for f in [*obj._meta.concrete_fields, *obj._meta.many_to_many]}
    data = {}
    for name, value in {**model_to_dict(obj), **changes}.items():
        value = _value(fields[name], value) if name in fields else value
        if value is not False:
            data[name] = "on" if value is True else value
    for prefix in inlines:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data["_save"] = "Save"
    return data


def action(name: str, *objs) -> dict:
    """The POST data of running admin action ``name`` on ``objs`` from the changelist."""
    return {"action": name, "_selected_action": [o.pk for o in objs], "index": "0"}
