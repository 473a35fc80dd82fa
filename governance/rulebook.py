"""Services for the rulebook: routing policies, the authority matrix, action categories and types, agent
groups. Exported by ``governance.services``; Django admin, the API and seeding all call these.

Each write is one transaction and one simple-history row naming who (``by``, a user or None for the
system) and why (``reason``, or a summary of the fields changed). Saving bumps the governance snapshot
(signals in ``governance.apps``), so every process evaluates with the new rules at its next proposal.
"""
from django.db import transaction

from orchestra_site.errors import InvalidInput
from orchestra_site.formats import change_reason

from .action_types import schema_errors
from .audit import changes as audit_changes
from .models import ActionCategory, ActionType, AgentGroup, AuthorityRule, Policy

UNCHANGED = ...


def describe(changes: dict) -> str:
    """``"priority=5, outcome=review, agents=[deploy-bot]"``: the change reason written when the
    caller gives none (simple-history keeps its first 100 characters)."""
    def show(v):
        if isinstance(v, (list, tuple, set)) or hasattr(v, "model"):
            return "[" + ", ".join(str(x) for x in v) + "]"
        return v
    return ", ".join(f"{k}={show(v)}" for k, v in changes.items())


def _save(obj, *, by, reason: str, fields: dict) -> None:
    for field, value in fields.items():
        setattr(obj, field, value)
    obj._history_user = by
    obj._change_reason = change_reason(reason)  # fits simple-history's 100-character column
    obj.save()


def _known(model, fields: dict, *, m2m=()) -> None:
    names = {f.name for f in model._meta.concrete_fields} | set(m2m)
    for name in fields:
        if name not in names or name in ("id",):
            raise InvalidInput(f"{model._meta.verbose_name} has no field {name!r}.", field=name)


# --- policies ---------------------------------------------------------------------------------------

@transaction.atomic
def policy_create(*, by, reason: str = "", agents=(), agent_groups=(), **fields) -> Policy:
    """Create a routing policy (fields of ``governance.models.Policy``) matching ``agents`` and
    ``agent_groups`` (blank = any). Raises ``InvalidInput`` naming an unknown field."""
    _known(Policy, fields)
    policy = Policy(updated_by=by if getattr(by, "pk", None) else None)
    _save(policy, by=by, reason=reason or f"created: {describe(fields)}", fields=fields)
    if agents:
        policy.agents.set(agents)
    if agent_groups:
        policy.agent_groups.set(agent_groups)
    audit_changes.policy_change(f"policy {policy.name} created (v1, {policy.outcome})", by=by, domain=_domain(policy),
                          widened=_auto_approves(policy), reason=reason, status="created",
                          context={"policy_id": policy.pk, "version": 1, "fields": _shown(fields)})
    return policy


def _domain(policy: Policy) -> str:
    return policy.domain.slug if policy.domain_id else ""


def _auto_approves(policy: Policy) -> bool:
    return policy.is_active and policy.outcome == Policy.Outcome.AUTO_APPROVE


def _shown(fields: dict) -> dict:
    return {k: str(v) if hasattr(v, "pk") else v for k, v in fields.items()}


def _widens(before: dict, policy: Policy) -> bool:
    """Does this change let more be decided without a human? It now auto-approves (outcome or
    re-activation), or auto-approves at a lower confidence or for more agents than before."""
    if not _auto_approves(policy):
        return False
    if not before["auto_approves"]:
        return True
    return policy.min_confidence < before["min_confidence"] or before["agents_changed"]


@transaction.atomic
def policy_update(*, policy: Policy, by, reason: str = "", agents=UNCHANGED, agent_groups=UNCHANGED,
                  **changes) -> Policy:
    """Change a policy (any of its fields, its agents and agent groups); a new version naming ``by``
    and ``reason`` (default: the fields changed). Raises ``InvalidInput`` naming an unknown field."""
    _known(Policy, changes)
    changes.pop("version", None)
    stored = Policy.objects.select_for_update().get(pk=policy.pk)
    before = {"auto_approves": _auto_approves(stored), "min_confidence": stored.min_confidence,
              "agents_changed": agents is not UNCHANGED or agent_groups is not UNCHANGED}
    policy.version = stored.version + 1
    policy.updated_by = by if getattr(by, "pk", None) else None
    listed = {**changes, **({"agents": agents} if agents is not UNCHANGED else {}),
              **({"agent_groups": agent_groups} if agent_groups is not UNCHANGED else {})}
    _save(policy, by=by, reason=reason or f"changed: {describe(listed)}", fields=changes)
    if agents is not UNCHANGED:
        policy.agents.set(agents)
    if agent_groups is not UNCHANGED:
        policy.agent_groups.set(agent_groups)
    audit_changes.policy_change(
        f"policy {policy.name} changed (v{policy.version}): {describe(listed)}"[:500], by=by, domain=_domain(policy),
        widened=_widens(before, policy), reason=reason,
        context={"policy_id": policy.pk, "version": policy.version, "fields": _shown(listed)})
    return policy


# --- the authority matrix -----------------------------------------------------------------------------

@transaction.atomic
def authority_rule_create(*, by, reason: str = "", **fields) -> AuthorityRule:
    """Add a cell to the decision-authority matrix (level, category, mode, note)."""
    _known(AuthorityRule, fields)
    rule = AuthorityRule()
    _save(rule, by=by, reason=reason or f"created: {describe(fields)}", fields=fields)
    _matrix_changed(rule, by, reason, widened=rule.mode == AuthorityRule.Mode.CAN_DECIDE)
    return rule


def _matrix_changed(rule: AuthorityRule, by, reason: str, *, widened: bool) -> None:
    audit_changes.policy_change(
        f"authority matrix: at the {rule.get_level_display().lower()} level, {rule.category} "
        f"{rule.get_mode_display().lower()}", by=by, widened=widened, reason=reason,
        context={"level": rule.level, "category": str(rule.category), "mode": rule.mode})


@transaction.atomic
def authority_rule_update(*, rule: AuthorityRule, by, reason: str = "", **changes) -> AuthorityRule:
    """Change a cell of the matrix (usually its ``mode``: can_decide / must_escalate)."""
    _known(AuthorityRule, changes)
    was = AuthorityRule.objects.filter(pk=rule.pk).values_list("mode", flat=True).first()
    _save(rule, by=by, reason=reason or f"changed: {describe(changes)}", fields=changes)
    _matrix_changed(rule, by, reason, widened=was != rule.mode and rule.mode == AuthorityRule.Mode.CAN_DECIDE)
    return rule


@transaction.atomic
def authority_matrix_update(*, modes: dict, by, reason: str) -> list[AuthorityRule]:
    """Set the mode of several cells of the matrix at once (``modes``: rule id → ``can_decide`` or
    ``must_escalate``), all or none, each with ``reason`` (required) in its history and audit event.
    Returns the cells that changed (a cell already in that mode is left alone). Raises
    ``InvalidInput`` for a blank reason, an unknown mode (field ``mode``) or an unknown cell (``rule``)."""
    if not (reason or "").strip():
        raise InvalidInput("Say why the matrix changes: the reason is kept in its history and the audit trail.",
                           field="reason")
    valid = set(AuthorityRule.Mode.values)
    if any(mode not in valid for mode in modes.values()):
        raise InvalidInput(f"mode must be one of {', '.join(sorted(valid))}.", field="mode")
    rules = {r.pk: r for r in AuthorityRule.objects.select_for_update().select_related("category")
             .filter(pk__in=list(modes))}
    if len(rules) != len(modes):
        raise InvalidInput("No such cell of the authority matrix.", field="rule")
    changed = [rules[pk] for pk, mode in modes.items() if rules[pk].mode != mode]
    for rule in changed:
        authority_rule_update(rule=rule, by=by, reason=reason.strip(), mode=modes[rule.pk])
    return changed


# --- action categories and types --------------------------------------------------------------------

@transaction.atomic
def action_category_save(*, category: ActionCategory | None = None, by, reason: str = "",
                         **fields) -> ActionCategory:
    """Create (``category`` None) or change an action category (slug, name, description)."""
    _known(ActionCategory, fields)
    category = category or ActionCategory()
    _save(category, by=by, reason=reason or f"saved: {describe(fields)}", fields=fields)
    audit_changes.policy_change(f"action category {category.slug} saved", by=by, reason=reason,
                                context=_shown(fields))
    return category


@transaction.atomic
def action_type_save(*, action_type: ActionType | None = None, by, reason: str = "", **fields) -> ActionType:
    """Create (``action_type`` None) or change an action type (name, category, description,
    args_schema). The schema must be a valid JSON Schema 2020-12 document, else ``InvalidInput``
    (422, field ``args_schema``, code ``invalid_schema``) and nothing is saved: a broken contract
    would refuse every proposal of that action (see ``governance.action_types``)."""
    _known(ActionType, fields)
    if "args_schema" in fields:
        errors = schema_errors(fields["args_schema"])
        if errors:
            raise InvalidInput("args_schema is not a valid JSON Schema: " + "; ".join(errors[:3]),
                               field="args_schema", code="invalid_schema", errors=errors)
    action_type = action_type or ActionType()
    _save(action_type, by=by, reason=reason or f"saved: {describe(fields)}", fields=fields)
    audit_changes.policy_change(f"action type {action_type.name} saved", by=by, reason=reason,
                                context=_shown(fields))
    return action_type


# --- agent groups -----------------------------------------------------------------------------------

@transaction.atomic
def agent_group_save(*, group: AgentGroup | None = None, by, reason: str = "", agents=UNCHANGED,
                     **fields) -> AgentGroup:
    """Create (``group`` None) or change an agent group (its name, its agents): policies matching the
    group match its new members from the next proposal on."""
    _known(AgentGroup, fields)
    group = group or AgentGroup()
    listed = {**fields, **({"agents": agents} if agents is not UNCHANGED else {})}
    _save(group, by=by, reason=reason or f"saved: {describe(listed)}", fields=fields)
    if agents is not UNCHANGED:
        before = set(group.agents.values_list("pk", flat=True)) if group.pk else set()
        group.agents.set(agents)
        added = set(group.agents.values_list("pk", flat=True)) - before
    else:
        added = set()
    auto = group.policies.filter(is_active=True, outcome=Policy.Outcome.AUTO_APPROVE).exists() if added else False
    audit_changes.policy_change(f"agent group {group.name} saved: {describe(listed)}"[:500], by=by, reason=reason,
                                widened=auto, context=_shown(listed))
    return group
