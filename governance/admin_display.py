"""What Django admin shows of governed records, in words: a history row's field diff with field names
and display values, a policy's conditions and outcome in one line each (so the list fits the page),
and the authority matrix as a table of levels × can decide / must escalate. Reads only."""
from django.db import models
from django.utils.text import capfirst

from .models import AuthorityRule, Level, Policy, Risk
from .words import LEVEL_NAMES, level_name

EMPTY = "—"


def readable_changes(model, delta) -> list[dict]:
    """``delta`` (simple-history's ``diff_against``, foreign keys as objects) as rows of
    ``{"field": "Minimum confidence", "old": "0.9", "new": "0.8"}``: field verbose names, choice labels,
    related objects by name, yes/no for booleans, "—" for blank."""
    rows = []
    for change in delta.changes:
        try:
            field = model._meta.get_field(change.field)
        except Exception:  # a field since removed from the model
            field = None
        name = capfirst(str(field.verbose_name)) if field is not None else change.field.replace("_", " ")
        rows.append({"field": name, "old": show(field, change.old), "new": show(field, change.new)})
    return rows


def show(field, value) -> str:
    """One value of ``field`` in words."""
    if isinstance(field, models.ManyToManyField) and isinstance(value, list):
        return _related_names(field, value)
    if value is None or value == "" or getattr(value, "pk", "") is None:  # blank, or a null foreign key
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field is not None and field.choices:
        return str(dict(field.flatchoices).get(value, value))
    return str(value)


def _related_names(field, rows: list) -> str:
    """The names of the related objects of a many-to-many history value (a list of through rows)."""
    key = field.m2m_reverse_field_name()
    values = [r.get(key) for r in rows if isinstance(r, dict)]
    if not values:
        return EMPTY
    ids = [v for v in values if not isinstance(v, models.Model)]  # objects already (foreign keys as objects)
    names = {o.pk: str(o) for o in field.related_model._default_manager.filter(pk__in=ids)} if ids else {}
    return ", ".join(str(v) if isinstance(v, models.Model) else names.get(v, f"#{v} (deleted)") for v in values)


def policy_matches(p: Policy) -> str:
    """E.g. "deploy.* · Platform · Tactical approaches · risk high–critical · 2 agents"; "anything"."""
    parts = [p.action_pattern] if p.action_pattern else []
    if p.domain_id:
        parts.append(str(p.domain))
    if p.category_id:
        parts.append(str(p.category))
    if p.min_risk or p.max_risk:
        low = Risk(p.min_risk).label.lower() if p.min_risk else "low"
        high = Risk(p.max_risk).label.lower() if p.max_risk else "critical"
        parts.append(f"risk {low}" if low == high else f"risk {low}–{high}")
    if p.classification:
        parts.append(p.get_classification_display().lower())
    if p.min_cost_usd is not None or p.max_cost_usd is not None:
        parts.append(f"cost ${p.min_cost_usd or 0}–{'$' + str(p.max_cost_usd) if p.max_cost_usd is not None else '∞'}")
    named = len(p.agents.all()) + len(p.agent_groups.all())  # prefetched by the admin's queryset
    if named:
        parts.append(f"{named} named agent{'s' if named != 1 else ''} or group{'s' if named != 1 else ''}")
    return " · ".join(parts) or "anything"


def policy_decides(p: Policy) -> str:
    """E.g. "Review in Platform reviewers, 2 approvers" or "Escalate to the domain orchestrator"."""
    if p.outcome == Policy.Outcome.REVIEW:
        where = str(p.inbox) if p.inbox_id else "the domain's default inbox"
        text = f"Review in {where}"
    elif p.outcome == Policy.Outcome.ESCALATE:
        text = f"Escalate to the {level_name(p.escalate_to or Level.DOMAIN)}"
    elif p.outcome == Policy.Outcome.AUTO_APPROVE:
        text = f"Auto-approve at confidence ≥ {p.min_confidence:g}"
    else:
        text = p.get_outcome_display()
    if p.quorum and p.outcome != Policy.Outcome.FORBID:
        text += f", {p.quorum} approver{'s' if p.quorum != 1 else ''}"
    return text + (" (regulatory)" if p.is_regulatory else "")


def matrix_rows(rules) -> list[dict]:
    """The matrix as one row per level, first-line review first: ``{"level", "name", "can_decide":
    [rule, …], "must_escalate": [rule, …]}``, categories by name within a cell."""
    rows = {level: {"level": level, "name": capfirst(name), "can_decide": [], "must_escalate": []}
            for level, name in LEVEL_NAMES.items()}
    for rule in sorted(rules, key=lambda r: r.category.name):
        if rule.level in rows:
            rows[rule.level][rule.mode].append(rule)
    return list(rows.values())


def matrix_grid(rules) -> tuple[list[dict], list[str]]:
    """The editable grid: one row per category (by name) with its cell at each level (None where the
    matrix has none), and the column heads (level names)."""
    levels = list(LEVEL_NAMES)
    by_category: dict = {}
    for rule in rules:
        by_category.setdefault(rule.category, {})[rule.level] = rule
    grid = [{"category": c, "cells": [cells.get(level) for level in levels]}
            for c, cells in sorted(by_category.items(), key=lambda kv: kv[0].name)]
    return grid, [capfirst(LEVEL_NAMES[level]) for level in levels]


MODES = AuthorityRule.Mode.choices
