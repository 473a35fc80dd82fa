"""The work: proposals, the votes and decisions on them, escalations and webhook deliveries.

Who may propose, review and decide (agents, inboxes, policies) is ``governance``'s; this app builds on it."""
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from governance.models import Agent, Classification, Inbox, Level, Risk


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
        constraints = [
            models.UniqueConstraint(fields=["proposal", "attempt"], name="webhook_delivery_once_per_attempt")
        ]

    def __str__(self):
        return f"{self.proposal_id} attempt {self.attempt}: {self.status_code or self.error[:40]}"


class Escalation(models.Model):
    """A proposal moved up a level: by the SLA timer (``by`` empty), by a reviewer, or by a limit."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="escalations")
    from_inbox = models.ForeignKey("governance.Inbox", null=True, on_delete=models.SET_NULL, related_name="+")
    to_inbox = models.ForeignKey("governance.Inbox", null=True, on_delete=models.SET_NULL, related_name="+")
    to_level = models.CharField(max_length=12, choices=Level.choices)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.proposal_id} → {self.to_inbox} ({self.reason[:40]})"
