"""The work: proposals, the votes and decisions on them, escalations and webhook deliveries.

Who may propose, review and decide (agents, inboxes, policies) is ``governance``'s; this app builds on it.

A decision is kept as it was taken: a decided proposal (any status but ``pending``) refuses ``save()``
and ``delete()``, proposals are never deleted (one by one or as a queryset), a vote is never changed or
deleted once cast: each refusal raises ``orchestra_site.errors.ImmutableRecord`` (409).
``QuerySet.update()`` and ``bulk_update()`` only ever reach pending rows (decided ones are skipped).
The lifecycle only ever writes pending rows (``inbox.decisions``, ``inbox.timers``, the freeze in
``inbox.services``); the links of ``conflicts_with`` are a separate table and may still be added to a
decided proposal.
"""
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from governance.models import Agent, Classification, Inbox, Level, Risk
from orchestra_site.errors import ImmutableRecord

PENDING = "pending"


class ProposalQuerySet(models.QuerySet):
    """Proposals' queryset: never deleted in bulk; an update never reaches a decided row."""

    def delete(self):
        raise ImmutableRecord("Proposals are never deleted: they are the record of what agents asked.")

    delete.queryset_only = True

    def update(self, **kwargs):
        """Update the pending rows of the queryset only, in the same statement (so a proposal decided
        by another process meanwhile is left as decided, not raced); returns how many were updated.
        ``bulk_update`` (and simple-history's ``bulk_update_with_history``) come through here too."""
        return super(ProposalQuerySet, self.filter(status=PENDING)).update(**kwargs)

    update.alters_data = True


class VoteQuerySet(models.QuerySet):
    """Votes' queryset: a cast vote is never deleted or changed in bulk."""

    def delete(self):
        raise ImmutableRecord("Votes are never deleted.")

    delete.queryset_only = True

    def update(self, **kwargs):
        raise ImmutableRecord("A cast vote cannot be changed.")

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRecord("A cast vote cannot be changed.")

    bulk_update.alters_data = True


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

    class Kind(models.TextChoices):
        ACTION = "action", "Action"
        QUESTION = "question", "Question"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="proposals")
    inbox = models.ForeignKey(Inbox, null=True, blank=True, on_delete=models.PROTECT, related_name="proposals")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACTION,
                            help_text="An action to approve, or a question for a human to answer (verdict `answer`).")
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
                                                 help_text="The routing policy's own version (1, 2, …) then.")
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
    approval_digest = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the approved action, resource and final args.")
    approval_expires_at = models.DateTimeField(null=True, blank=True,
                                               help_text="The approval may be executed until then.")
    workflow = models.CharField(max_length=120, blank=True, db_index=True,
                                help_text="The multi-agent workflow it belongs to (the agent's id for it).")
    response_options = models.JSONField(
        default=list, blank=True,
        help_text="Replies the agent offers the reviewer: reject options of an action, answer options of a "
                  "question; each {name, title, description, prompt_fill}.")
    channel_spec = models.JSONField(
        default=dict, blank=True,
        help_text="What an interoperability front door (HumanLayer) received beyond the proposal's own fields "
                  "(its channel, state, subject), returned to it as sent.")
    trace_id = models.CharField(max_length=32, blank=True, help_text="W3C trace id of the submitting request.")
    # What a framework's tool call says about itself (``inbox.tool_calls``) and the batch it came in.
    allowed_verdicts = models.JSONField(
        default=list, blank=True,
        help_text="Verdicts the tool accepts (approve, reject, edit, answer); empty: all of them.")
    args_schema = models.JSONField(null=True, blank=True,
                                   help_text="JSON Schema of the tool's args: edits must keep it.")
    batch = models.CharField(max_length=120, blank=True,
                             help_text="The agent's id for proposals raised together (parallel tool calls).")
    link_kind = models.CharField(
        max_length=40, blank=True, default="",
        help_text="What it was made for, above the inbox (a link handler's name, e.g. incident; see "
                  "inbox.hooks); empty for most: then no handler is asked who may see or decide it.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["request_hash", "updated_at"])

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["inbox", "status", "-created_at"]),
            models.Index(fields=["agent", "status", "-created_at"]),
            models.Index(fields=["resource", "status"], name="proposal_resource_status"),
            # A new proposal's most recent pending rivals (inbox.submission._mark_conflicts): an index
            # range, however many proposals were ever made on the resource.
            models.Index(fields=["resource", "-created_at"], name="proposal_pending_resource",
                         condition=models.Q(status="pending")),
            models.Index(fields=["updated_at"], name="proposal_updated_at"),  # inbox.watcher
            models.Index(fields=["agent", "batch"], name="proposal_agent_batch",
                         condition=~models.Q(batch="")),  # inbox.batches
            # The inbox lists and My work (inbox.selectors): pending counts and pages per inbox, the
            # decided tab (newest decision first), a reviewer's decisions, frozen and expiring work.
            models.Index(fields=["inbox", "-created_at"], name="proposal_pending_inbox",
                         condition=models.Q(status=PENDING)),
            models.Index(fields=["inbox", "-decided_at"], name="proposal_decided_inbox",
                         condition=~models.Q(status=PENDING)),
            models.Index(fields=["decided_by", "-decided_at"], name="proposal_decider_recent"),
            models.Index(fields=["inbox"], name="proposal_frozen_inbox",
                         condition=models.Q(status=PENDING, is_frozen=True)),
            models.Index(fields=["expires_at"], name="proposal_pending_expiry", condition=models.Q(status=PENDING)),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "idempotency_key"], condition=models.Q(idempotency_key__isnull=False),
                name="proposal_idempotency_key_per_agent",
            )
        ]

    def __str__(self):
        return f"{self.action} {self.resource} ({self.status})"

    # --- a decision is kept as it was taken (see the module docstring) ------------------------------

    def save(self, *args, **kwargs):
        """Refuses (``ImmutableRecord``) when the stored row is decided."""
        stored = self.stored_status()
        if stored is not None and stored != PENDING:
            raise ImmutableRecord(f"Proposal {self.pk} is already {stored}: a decided proposal cannot be changed.")
        super().save(*args, **kwargs)
        self._stored_status = self.status

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("Proposals are never deleted: they are the record of what agents asked.")

    delete.alters_data = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status")  # absent when deferred
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "status" in fields:
            self._stored_status = self.__dict__.get("status")

    def stored_status(self) -> str | None:
        """The status this row has in the database (None for a row not saved yet): the one read with
        it, or else one query (e.g. an instance rebuilt from a history row)."""
        if self._state.adding:
            return None
        stored = getattr(self, "_stored_status", None)
        if stored is None:
            stored = Proposal._base_manager.filter(pk=self.pk).values_list("status", flat=True).first()
        return stored

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

    objects = VoteQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["proposal", "reviewer"], name="vote_once_per_reviewer")]

    def __str__(self):
        return f"{self.reviewer} {self.verdict} {self.proposal_id}"

    def save(self, *args, **kwargs):
        """Cast once: saving a vote that is already stored raises ``ImmutableRecord``."""
        if not self._state.adding:
            raise ImmutableRecord("A cast vote cannot be changed.")
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("Votes are never deleted.")

    delete.alters_data = True


class Execution(models.Model):
    """What happened when an approved proposal's action ran, as its agent reported it. One approval,
    one execution: at most one row per proposal (a second report is refused, 409)."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        PARTIAL = "partial", "Partial"

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="execution")
    status = models.CharField(max_length=10, choices=Status.choices)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    args = models.JSONField(default=dict, blank=True, help_text="The args the action ran with.")
    reported_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.proposal_id} {self.status}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecord("An execution report cannot be changed.")
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("Execution reports are never deleted.")

    delete.alters_data = True


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
        verbose_name_plural = "webhook deliveries"
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


class OwedWebhook(models.Model):
    """The outbox: a decision callback the agent is owed. Written in the transaction that decides the
    proposal, so a decision and its promise to tell the agent commit (or roll back) together; the
    django-q2 worker marks it done only once the receiver answered 2xx, and a periodic sweep queues
    again whatever is still owed (``inbox.outbox``). Its ``id`` is the delivery id every attempt carries
    (``X-Orchestra-Delivery``), so a receiver can drop a repeated delivery."""

    class State(models.TextChoices):
        OWED = "owed", "Owed"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up (attempts exhausted)"
        REFUSED = "refused", "Refused (callback address not allowed)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False,
                          help_text="The delivery id, the same on every attempt.")
    proposal = models.ForeignKey(Proposal, on_delete=models.PROTECT, related_name="owed_webhooks")
    event = models.CharField(max_length=40, default="proposal.decided")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OWED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts started so far.")
    next_attempt_at = models.DateTimeField(help_text="The next attempt may start then (backoff).")
    leased_until = models.DateTimeField(null=True, blank=True,
                                        help_text="A worker is attempting it until then at most (in flight).")
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Last put on the task queue.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True, help_text="Delivered, given up or refused then.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="owed_webhook_due")]
        constraints = [models.UniqueConstraint(fields=["proposal", "event"], name="owed_webhook_once_per_event")]

    def __str__(self):
        return f"{self.event} {self.proposal_id}: {self.state} after {self.attempts} attempt(s)"


from .notifications.models import (  # noqa: E402, F401  (the app's models module registers them)
    InboxSlack,
    NotificationEvent,
    NotificationPreference,
    OwedNotification,
)
