"""Notification preferences, an inbox's Slack channel, and the notification outbox.

Two outboxes, written where the promise is made so that a SIGKILLed task cluster loses nothing:

- ``NotificationEvent``: something reviewers of ``inbox`` are to be told about (a new proposal, an
  escalation to them, an SLA about to be breached). Written in the transaction that makes it true;
  ``fanned_out_at`` is set in the transaction that writes its deliveries.
- ``OwedNotification``: one delivery (an e-mail to a reviewer, now or in the next digest; a message
  to an inbox's Slack channel), marked ``delivered`` only after the mail backend or Slack accepted it.
  Apps above the inbox owe ready-made e-mails the same way (``outbox.emails_owe``: an incident's
  notices): no event, the address, subject and text on the row.
"""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationPreference(models.Model):
    """How one reviewer wants to be told, besides live in the browser (always on). No row: browser only."""

    class Email(models.TextChoices):
        OFF = "off", "No e-mail"
        IMMEDIATE = "immediate", "E-mail, one message each, immediately"
        DIGEST = "digest", "E-mail digest"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="notification_preference")
    email = models.CharField(max_length=10, choices=Email.choices, default=Email.OFF)
    slack = models.BooleanField(default=False, help_text="Post to the Slack channel of each inbox where I decide "
                                                          "(for inboxes that have one).")
    on_new = models.BooleanField("New proposals in my inboxes", default=True)
    on_escalation = models.BooleanField("Escalations to my inboxes", default=True)
    on_sla = models.BooleanField("Proposals about to breach their SLA", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.user_id}: e-mail {self.email}, slack {'on' if self.slack else 'off'}"

    @property
    def listens(self) -> bool:
        return self.email != self.Email.OFF or self.slack


class InboxSlack(models.Model):
    """An inbox's Slack channel: its incoming-webhook URL. The URL is a credential (whoever has it may
    post to the channel): it is write-only in every form and shown masked (``masked_url``)."""

    inbox = models.OneToOneField("governance.Inbox", on_delete=models.CASCADE, primary_key=True, related_name="slack")
    webhook_url = models.URLField(max_length=500)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = "inbox Slack channel"

    def __str__(self):
        return f"Slack of inbox {self.inbox_id}: {self.masked_url}"

    @property
    def masked_url(self) -> str:
        """The scheme and host, and the last four characters: enough to recognise it, not to use it."""
        scheme, _, rest = self.webhook_url.partition("://")
        host = rest.split("/", 1)[0]
        return f"{scheme}://{host}/…{self.webhook_url[-4:]}"


class NotificationEvent(models.Model):
    """Something to tell the reviewers of ``inbox`` (the fan-out outbox). ``key`` tells apart events of
    one kind on one proposal (the escalation's id; the SLA deadline warned about): each is told once."""

    class Kind(models.TextChoices):
        NEW = "new", "New proposal"
        ESCALATED = "escalated", "Escalated to the inbox"
        SLA = "sla", "About to breach its SLA"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    proposal = models.ForeignKey("inbox.Proposal", on_delete=models.CASCADE, related_name="notification_events")
    inbox = models.ForeignKey("governance.Inbox", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    key = models.CharField(max_length=64, blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                           related_name="+", help_text="Who caused it (not told about their own act).")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Its fan-out last put on the task queue.")
    fanned_out_at = models.DateTimeField(null=True, blank=True, help_text="Its deliveries were written then.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["fanned_out_at", "created_at"], name="notification_event_owed")]
        constraints = [models.UniqueConstraint(fields=["proposal", "kind", "key"], name="notification_event_once")]

    def __str__(self):
        return f"{self.kind} {self.proposal_id} → inbox {self.inbox_id}"


class OwedNotification(models.Model):
    """One delivery owed (the delivery outbox; the states, lease and backoff of ``inbox.OwedWebhook``)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        DIGEST = "digest", "E-mail digest"
        SLACK = "slack", "Slack"

    class State(models.TextChoices):
        OWED = "owed", "Owed"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up (attempts exhausted)"
        REFUSED = "refused", "Refused (address not allowed)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(NotificationEvent, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="deliveries",
                              help_text="What it tells; empty for a ready-made e-mail (``emails_owe``).")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    to_email = models.EmailField(blank=True, help_text="A ready-made e-mail's address (no event).")
    subject = models.CharField(max_length=300, blank=True, help_text="A ready-made e-mail's subject.")
    body = models.TextField(blank=True, help_text="A ready-made e-mail's text.")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", help_text="The reviewer e-mailed (e-mail and digest).")
    inbox = models.ForeignKey("governance.Inbox", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                              help_text="The inbox whose Slack channel is posted to.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OWED)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Attempts started so far.")
    next_attempt_at = models.DateTimeField(help_text="The next attempt may start then (backoff, or the digest's time).")
    leased_until = models.DateTimeField(null=True, blank=True,
                                        help_text="A worker is attempting it until then at most (in flight).")
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Last put on the task queue.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True, help_text="Delivered, given up or refused then.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="owed_notification_due")]
        constraints = [
            models.CheckConstraint(condition=Q(event__isnull=False) | ~Q(to_email=""),
                                   name="owed_notification_says_what"),
            models.UniqueConstraint(fields=["event", "user"], condition=Q(user__isnull=False),
                                    name="owed_notification_once_per_user"),
            models.UniqueConstraint(fields=["event", "inbox"], condition=Q(inbox__isnull=False),
                                    name="owed_notification_once_per_inbox"),
        ]

    def __str__(self):
        to = f"user {self.user_id}" if self.user_id else f"inbox {self.inbox_id}"
        return f"{self.channel} to {to}: {self.state} after {self.attempts} attempt(s)"
