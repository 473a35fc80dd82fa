"""The inbox domain: agents and their tokens, role-scoped inboxes, proposals and decisions."""
import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from governance.models import Classification, Domain, Level, Risk


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
    (``inbox.view_inbox``, ``inbox.decide_inbox``), usually granted to ``reviewers`` (a group)."""

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
        help_text="Group granted view and decide on this inbox (kept in sync by inbox.services).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "inboxes"
        permissions = [("decide_inbox", "Can decide proposals in this inbox")]

    def __str__(self):
        return self.name


class Proposal(models.Model):
    """A proposed action from an agent, and the human decision on it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EDITED = "edited_and_approved", "Edited and approved"
        ANSWERED = "answered", "Answered"
        EXPIRED = "expired", "Expired"
        REFUSED = "refused", "Refused by policy"
        SUPERSEDED = "superseded", "Superseded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="proposals")
    inbox = models.ForeignKey(Inbox, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals")
    action = models.CharField(max_length=120, db_index=True)
    resource = models.CharField(max_length=255, blank=True)
    args = models.JSONField(default=dict, blank=True)
    summary = models.CharField(max_length=500)
    reasoning = models.TextField(blank=True)
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.LOW)
    confidence = models.FloatField(default=0.5, validators=[MinValueValidator(0), MaxValueValidator(1)])
    cost_usd = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal("0"))
    classification = models.CharField(max_length=10, choices=Classification.choices, default=Classification.INTERNAL)
    related_tasks = models.JSONField(default=list, blank=True)
    callback_url = models.URLField(max_length=500, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING)
    category = models.CharField(max_length=60, blank=True, help_text="Action category at submission.")
    level = models.CharField(max_length=12, choices=Level.choices, default=Level.AGENT,
                             help_text="Authority level that must decide it now.")
    policy = models.ForeignKey("governance.Policy", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="proposals")
    policy_version = models.PositiveIntegerField(null=True, blank=True,
                                                 help_text="history_id of the policy version that routed it.")
    routing_reason = models.TextField(blank=True)
    quorum = models.PositiveSmallIntegerField(default=1, help_text="Distinct approvals needed.")
    sla_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    is_frozen = models.BooleanField(default=False, help_text="Kill switch: cannot be decided while frozen.")
    conflicts_with = models.ManyToManyField("self", blank=True, symmetrical=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)
    final_args = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["request_hash", "updated_at"])

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["inbox", "status", "-created_at"]),
            models.Index(fields=["agent", "status", "-created_at"]),
            models.Index(fields=["resource", "status"], name="proposal_resource_status"),
            models.Index(fields=["updated_at"], name="proposal_updated_at"),  # inbox.watcher
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "idempotency_key"], condition=models.Q(idempotency_key__isnull=False),
                name="proposal_idempotency_key_per_agent",
            )
        ]

    def __str__(self):
        return f"{self.action} {self.resource} ({self.status})"

    @property
    def is_pending(self):
        return self.status == self.Status.PENDING


class Vote(models.Model):
    """One reviewer's verdict on a proposal. A proposal is decided when a single rejection or answer
    arrives, or when approvals reach its quorum (with an independent approver: four-eyes)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="votes")
    verdict = models.CharField(max_length=10)
    comment = models.TextField(blank=True)
    args = models.JSONField(null=True, blank=True, help_text="Edited args, for an edit.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["proposal", "reviewer"], name="vote_once_per_reviewer")]

    def __str__(self):
        return f"{self.reviewer} {self.verdict} {self.proposal_id}"


class WebhookDelivery(models.Model):
    """One attempt to POST a decision to a proposal's callback URL (kept for audit)."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="webhook_deliveries")
    attempt = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    delivered = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["proposal", "attempt"]

    def __str__(self):
        return f"{self.proposal_id} attempt {self.attempt}: {self.status_code or self.error[:40]}"
