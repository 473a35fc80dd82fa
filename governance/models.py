"""Governance records: the authority structure that answers "who may do what".

Domains, agents and their tokens, inboxes and who reviews them, the decision-authority matrix,
action types and routing policies. The work itself (proposals and their lifecycle) lives in ``inbox``,
which builds on these; nothing here refers to it.

Every governed record keeps its history (django-simple-history), so the audit trail can say who
changed a policy, when and how.
"""
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from guardian.models import GroupObjectPermission, UserObjectPermission
from simple_history import register as register_history
from simple_history.models import HistoricalRecords


class Level(models.TextChoices):
    """The three decision-authority levels of an enterprise agent fleet."""

    AGENT = "agent", "Agent"
    DOMAIN = "domain", "Domain orchestrator"
    ENTERPRISE = "enterprise", "Enterprise"


class Risk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


RISK_ORDER = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2, Risk.CRITICAL: 3}


class Classification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    SENSITIVE = "sensitive", "Sensitive"


class Domain(models.Model):
    """A business domain (Product, Platform, Operations, …) with its own orchestrator and limits."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    default_inbox = models.ForeignKey(
        "Inbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where proposals go when no policy or rule matches (never auto-approved).",
    )
    orchestrator_inbox = models.ForeignKey(
        "Inbox", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Where the domain orchestrator decides what first-line reviewers must escalate.",
    )
    is_suspended = models.BooleanField(default=False, help_text="Kill switch: refuse and freeze the domain.")
    suspended_reason = models.TextField(blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Proposals per minute for the whole domain; blank = unlimited."
    )
    daily_budget_usd = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="Estimated cost (USD) the domain's agents may have auto-approved per UTC day.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("orchestrate_domain", "Can act as the domain orchestrator"),
            ("suspend_domain", "Can suspend the domain (kill switch)"),
        ]

    def __str__(self):
        return self.name


class ActionCategory(models.Model):
    """A kind of decision (``scope_change``, ``budget_allocation``, …) that the authority matrix rules on."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "action categories"

    def __str__(self):
        return self.name


class AuthorityRule(models.Model):
    """One cell of the decision-authority matrix: at ``level``, ``category`` *can be decided* or
    *must be escalated*. ``governance.authority.required_level`` reads the whole matrix."""

    class Mode(models.TextChoices):
        CAN_DECIDE = "can_decide", "Can decide"
        MUST_ESCALATE = "must_escalate", "Must escalate"

    level = models.CharField(max_length=12, choices=Level.choices)
    category = models.ForeignKey(ActionCategory, on_delete=models.CASCADE, related_name="authority")
    mode = models.CharField(max_length=14, choices=Mode.choices)
    note = models.CharField(max_length=200, blank=True, help_text="E.g. 'to named humans'.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["level", "mode", "category__name"]
        verbose_name = "authority matrix cell"
        verbose_name_plural = "authority matrix"
        constraints = [models.UniqueConstraint(fields=["level", "category"], name="authority_one_cell")]

    def __str__(self):
        return f"{self.get_level_display()} {self.get_mode_display().lower()}: {self.category}"


class ActionType(models.Model):
    """A known action (``deploy.rollback``): its category and the JSON Schema of its args (data contract)."""

    name = models.CharField(max_length=120, unique=True, help_text="Dotted action type, e.g. deploy.rollback")
    category = models.ForeignKey(ActionCategory, on_delete=models.PROTECT, related_name="action_types")
    description = models.TextField(blank=True)
    args_schema = models.JSONField(default=dict, blank=True, help_text="JSON Schema (2020-12) of the args.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class AgentGroup(models.Model):
    """A named set of agents a policy can match on (e.g. 'Release bots')."""

    name = models.CharField(max_length=120, unique=True)
    agents = models.ManyToManyField("Agent", blank=True, related_name="agent_groups")
    history = HistoricalRecords(m2m_fields=[agents])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Policy(models.Model):
    """A routing policy: what it matches and the one outcome it decides.

    Matching is done by ``governance.policies.evaluate``: active policies in ``priority`` order
    (lower first), ties broken by the lower id; the first whose every set condition holds wins.
    Blank conditions match anything.
    """

    class Outcome(models.TextChoices):
        AUTO_APPROVE = "auto_approve", "Auto-approve"
        REVIEW = "review", "Review in an inbox"
        ESCALATE = "escalate", "Escalate to a level"
        FORBID = "forbid", "Forbid"

    name = models.CharField(max_length=160, unique=True)
    description = models.TextField(blank=True)
    priority = models.IntegerField(default=100, help_text="Lower is tried first; ties go to the older policy.")
    is_active = models.BooleanField(default=True)
    is_regulatory = models.BooleanField(
        default=False, help_text="Regulatory policies can never auto-approve, whatever else matches."
    )
    # --- what it matches (blank = any) ---
    agents = models.ManyToManyField("Agent", blank=True, related_name="policies")
    agent_groups = models.ManyToManyField(AgentGroup, blank=True, related_name="policies")
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="policies")
    action_pattern = models.CharField(max_length=120, blank=True, help_text="Glob on the action, e.g. deploy.*")
    category = models.ForeignKey(ActionCategory, null=True, blank=True, on_delete=models.PROTECT)
    min_risk = models.CharField(max_length=10, choices=Risk.choices, blank=True)
    max_risk = models.CharField(max_length=10, choices=Risk.choices, blank=True)
    classification = models.CharField(max_length=10, choices=Classification.choices, blank=True)
    min_cost_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    max_cost_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    # --- what it decides ---
    outcome = models.CharField(max_length=14, choices=Outcome.choices, default=Outcome.REVIEW)
    inbox = models.ForeignKey(
        "Inbox", null=True, blank=True, on_delete=models.PROTECT, related_name="policies",
        help_text="For review: the inbox (blank = the domain's default inbox).",
    )
    escalate_to = models.CharField(max_length=12, choices=Level.choices, blank=True, help_text="For escalate.")
    quorum = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Distinct approvers needed; blank = 2 for high/critical risk, else 1."
    )
    min_confidence = models.FloatField(default=0.9, help_text="For auto-approve: confidence at or above this.")
    sla_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Review deadline; blank = critical 15 min, high 1 h, medium 4 h, low 24 h."
    )
    expiry_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Hard expiry after submission (blank = the agent's expires_at or none)."
    )
    approval_ttl_seconds = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="How long an approval may be executed after it is given (blank = 24 hours).",
    )
    retention = models.CharField(
        max_length=12, blank=True, choices=[("standard", "Standard decision"), ("significant", "Significant"),
                                            ("compliance", "Compliance-relevant")],
        help_text="Audit retention class of what it routes (blank = by classification and kind of event).",
    )
    version = models.PositiveIntegerField(default=1, editable=False, help_text="1 at creation, +1 per change.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    history = HistoricalRecords(m2m_fields=[agents, agent_groups])

    class Meta:
        ordering = ["priority", "id"]
        verbose_name_plural = "policies"

    def __str__(self):
        return f"{self.priority} · {self.name}"


class Agent(models.Model):
    """A piece of software that posts proposed actions. Authenticates with hashed API tokens."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=120, unique=True)
    team = models.CharField(max_length=120, blank=True)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="agents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_agents",
        help_text="The human accountable for this agent.",
    )
    webhook_secret = models.CharField(
        max_length=64, help_text="Key of the HMAC-SHA256 signature on decision callbacks."
    )
    webhook_secret_previous = models.CharField(
        max_length=64, blank=True, help_text="The secret before the last rotation, still signing until "
                                             "webhook_secret_previous_until (the grace period).")
    webhook_secret_previous_until = models.DateTimeField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True, blank=True, help_text="Proposals per minute; over it the API answers 429. Blank = unlimited."
    )
    daily_budget_usd = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True,
        help_text="Estimated cost (USD) per UTC day; over it nothing is auto-approved (escalated as a resource "
                  "request). Blank = no budget.",
    )
    approved_tools = models.JSONField(
        default=list, blank=True,
        help_text="Tools the agent may use without asking: args.tool, or else the action's first segment "
                  "(deploy for deploy.rollback). Empty = no list kept.",
    )
    suspended_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("suspend_agent", "Can suspend the agent (kill switch)")]

    def __str__(self):
        return self.name

    @property
    def is_active(self):
        return self.status == self.Status.ACTIVE


class ApiToken(models.Model):
    """A bearer token, stored as its SHA-256 digest; the plain token is shown once at creation.

    Exactly one of ``agent`` and ``user`` is set: agents post proposals, users (reviewers) decide.
    Tokens are 256-bit random strings, so a fast digest is enough (no password stretching).
    """

    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters, to recognise a token in lists.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(agent__isnull=False, user__isnull=True)
                           | models.Q(agent__isnull=True, user__isnull=False)),
                name="apitoken_one_owner",
            )
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.agent or self.user})"


class Inbox(models.Model):
    """A role-scoped queue of proposals. Who may view or decide is a guardian object permission
    (``governance.view_inbox``, ``governance.decide_inbox``), usually granted to ``reviewers`` (a group)."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120)
    domain = models.ForeignKey(Domain, null=True, blank=True, on_delete=models.PROTECT, related_name="inboxes")
    description = models.TextField(blank=True)
    level = models.CharField(
        max_length=12, choices=Level.choices, default=Level.AGENT,
        help_text="Authority level of its reviewers: first-line review of agents' actions, the domain "
                  "orchestrator, or the enterprise governance board. Escalation moves up these levels.",
    )
    reviewers = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="inboxes",
        help_text="Group granted view and decide on this inbox (kept in sync by governance.services.inbox_update).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inboxes"
        permissions = [("decide_inbox", "Can decide proposals in this inbox")]

    def __str__(self):
        return self.name


class GovernanceRole(models.Model):
    """Unmanaged: carries the global permissions of enterprise-wide roles (assigned to groups)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("enterprise_governance", "Enterprise governance board: decide escalations, suspend anything"),
            ("audit", "Auditor: read-only everywhere"),
        ]

    def __str__(self):
        return "governance role"


ZERO_USD = Decimal("0.00")


# Grants keep their history too: every object permission given or taken back, with who (simple-history).
register_history(UserObjectPermission, app="governance", table_name="governance_history_userobjectpermission")
register_history(GroupObjectPermission, app="governance", table_name="governance_history_groupobjectpermission")

# The audit trail's records live in governance.audit (app label "governance").
from .audit.models import (  # noqa: E402, F401
    AuditAlert,
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    AuditSeal,
    RetentionClass,
)
