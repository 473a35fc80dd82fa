"""The default decision-authority matrix and action types (seeded by migration, editable in admin).

Levels: the agent itself, the domain orchestrator, the enterprise governance board. The matrix
says, per level, which action categories it *can decide* and which it *must escalate*.
"""
CATEGORIES = {
    # agent level
    "implementation_details": "Implementation details",
    "tool_selection": "Tool selection from the approved list",
    "tactical_approach": "Tactical approaches",
    "scope_change": "Scope changes",
    "external_communication": "External communication",
    "resource_request": "Resource requests",
    # domain orchestrator
    "task_prioritization": "Task prioritization",
    "team_composition": "Team composition",
    "quality_tradeoff": "Quality trade-offs",
    "budget_allocation": "Budget allocation",
    "cross_domain_conflict": "Cross-domain conflicts",
    "policy_exception": "Policy exceptions",
    # enterprise
    "resource_allocation": "Resource allocation",
    "priority_conflict": "Priority conflicts",
    "policy_enforcement": "Policy enforcement",
    "strategic_change": "Strategic changes",
    "compliance_issue": "Compliance issues",
    "major_incident": "Major incidents",
}

MATRIX = {
    "agent": {
        "can_decide": ["implementation_details", "tool_selection", "tactical_approach"],
        "must_escalate": ["scope_change", "external_communication", "resource_request"],
    },
    "domain": {
        "can_decide": ["task_prioritization", "team_composition", "quality_tradeoff"],
        "must_escalate": ["budget_allocation", "cross_domain_conflict", "policy_exception"],
    },
    "enterprise": {
        "can_decide": ["resource_allocation", "priority_conflict", "policy_enforcement"],
        "must_escalate": ["strategic_change", "compliance_issue", "major_incident"],
    },
}
NOTES = {("enterprise", "must_escalate"): "to named humans"}

_SERVICE = {"type": "string", "minLength": 1, "maxLength": 120}
ACTION_TYPES = {
    "deploy.rollback": ("tactical_approach", "Roll a service back to an earlier version.", {
        "type": "object", "required": ["service", "to_version"],
        "properties": {"service": _SERVICE, "to_version": {"type": "string", "minLength": 1}}}),
    "service.restart": ("tactical_approach", "Restart a service.", {
        "type": "object", "required": ["service"],
        "properties": {"service": _SERVICE, "environment": {"enum": ["production", "staging", "development"]}}}),
    "firewall.update_rule": ("scope_change", "Change a firewall rule.", {
        "type": "object", "required": ["rule_id", "action"],
        "properties": {"rule_id": {"type": "string"}, "action": {"enum": ["allow", "deny"]},
                       "cidr": {"type": "string"}, "port": {"type": "integer", "minimum": 1, "maximum": 65535}}}),
    "ticket.route": ("tactical_approach", "Route a support ticket to a queue.", {
        "type": "object", "required": ["ticket_id", "queue"],
        "properties": {"ticket_id": {"type": "string"}, "queue": {"type": "string"}}}),
    "ticket.flag_legal": ("tactical_approach", "Flag a ticket for Legal.", {
        "type": "object", "required": ["ticket_id"], "properties": {"ticket_id": {"type": "string"}}}),
    "ticket.file_bug": ("implementation_details", "File a bug ticket.", {
        "type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 3}}}),
    "release.hold": ("quality_tradeoff", "Hold a release.", {
        "type": "object", "required": ["release"], "properties": {"release": {"type": "string"}}}),
    "content.publish_article": ("external_communication", "Publish an article.", {
        "type": "object", "required": ["slug"], "properties": {"slug": {"type": "string"}}}),
    "email.send_external": ("external_communication", "Send an email outside the company.", {
        "type": "object", "required": ["to"], "properties": {"to": {"type": "array", "items": {"type": "string"}}}}),
    "budget.allocate": ("budget_allocation", "Allocate budget.", {
        "type": "object", "required": ["amount_usd"], "properties": {"amount_usd": {"type": "number", "minimum": 0}}}),
}


def seed(apps) -> None:
    """Create the categories, the matrix and the action types (idempotent; keeps admin edits)."""
    ActionCategory = apps.get_model("governance", "ActionCategory")
    AuthorityRule = apps.get_model("governance", "AuthorityRule")
    ActionType = apps.get_model("governance", "ActionType")
    cats = {slug: ActionCategory.objects.get_or_create(slug=slug, defaults={"name": name})[0]
            for slug, name in CATEGORIES.items()}
    for level, modes in MATRIX.items():
        for mode, slugs in modes.items():
            for slug in slugs:
                AuthorityRule.objects.get_or_create(level=level, category=cats[slug], defaults={
                    "mode": mode, "note": NOTES.get((level, mode), "")})
    for name, (cat, description, schema) in ACTION_TYPES.items():
        ActionType.objects.get_or_create(name=name, defaults={"category": cats[cat], "description": description,
                                                              "args_schema": schema})
