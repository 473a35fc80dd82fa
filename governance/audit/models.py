"""Audit records. Loaded by ``governance.models`` (app label ``governance``).

``AuditEvent`` is write-once: ``save()`` of a stored event, ``delete()``, and the queryset's
``update()`` / ``delete()`` / ``bulk_update()`` raise ``ImmutableRecord``. The only removal is the
retention purge (``retention.audit_purge``), which records itself as an event. Each event has an
``AuditSeal`` row, written with it (``position`` empty) and completed by the sealer.
"""
import uuid

from django.conf import settings
from django.db import models

from orchestra_site.errors import ImmutableRecord


class ActorType(models.TextChoices):
    AGENT = "agent", "Agent"
    USER = "user", "User"
    SYSTEM = "system", "System"


class AuditAction(models.TextChoices):
    """What kind of change an event records (``action_type``)."""

    SUBMISSION = "submission", "Submission (and its routing)"
    VOTE = "vote", "Vote"
    DECISION = "decision", "Decision"
    ESCALATION = "escalation", "Escalation"
    EXPIRY = "expiry", "Expiry"
    SUPERSESSION = "supersession", "Supersession"
    EXECUTION = "execution", "Execution outcome"
    EXECUTION_REFUSED = "execution_refused", "Execution refused"
    KILL_SWITCH = "kill_switch", "Kill switch"
    POLICY_CHANGE = "policy_change", "Policy or matrix change"
    PERMISSION_CHANGE = "permission_change", "Role or permission change"
    CONFIGURATION = "configuration", "Agent, domain or inbox change"
    INCIDENT = "incident", "Incident"
    PURGE = "purge", "Retention purge"


class AuditClassification(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    SENSITIVE = "sensitive", "Sensitive"


class Retention(models.TextChoices):
    STANDARD = "standard", "Standard decision"
    SIGNIFICANT = "significant", "Significant"
    COMPLIANCE = "compliance", "Compliance-relevant"


class AuditEventQuerySet(models.QuerySet):
    def delete(self):
        raise ImmutableRecord("Audit events are never deleted (only the retention purge removes them).")

    delete.queryset_only = True

    def update(self, **kwargs):
        raise ImmutableRecord("Audit events cannot be changed.")

    update.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        raise ImmutableRecord("Audit events cannot be changed.")

    bulk_update.alters_data = True


class AuditEvent(models.Model):
    """One thing that happened: who (``actor_*``), when, what, why, with what outcome.

    ``details`` holds ``context``, ``options_considered``, ``decision``, ``reasoning`` and ``outcome``
    (any may be empty). ``proposal_id`` and ``related_tasks`` are ids, not foreign keys: the record
    outlives what it is about and this app does not know the models above it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    timestamp = models.DateTimeField()  # indexed by audit_newest
    actor_type = models.CharField(max_length=8, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True, help_text="The agent's or user's id.")
    actor_name = models.CharField(max_length=150, blank=True)
    action_type = models.CharField(max_length=20, choices=AuditAction.choices)
    status = models.CharField(max_length=30, blank=True, help_text="Outcome in one word: approved, refused, …")
    domain = models.CharField(max_length=80, blank=True, help_text="The domain's slug.")
    summary = models.CharField(max_length=500)
    details = models.JSONField(default=dict, blank=True)
    classification = models.CharField(max_length=10, choices=AuditClassification.choices,
                                      default=AuditClassification.INTERNAL)
    related_tasks = models.JSONField(default=list, blank=True)
    proposal_id = models.UUIDField(null=True, blank=True)
    incident_id = models.CharField(max_length=64, blank=True)
    policy_id = models.PositiveIntegerField(null=True, blank=True)
    policy_version = models.PositiveIntegerField(null=True, blank=True, help_text="The policy's own version, 1, 2, …")
    trace_id = models.CharField(max_length=32, blank=True)
    workflow = models.CharField(max_length=120, blank=True)
    retention = models.CharField(max_length=12, choices=Retention.choices, default=Retention.STANDARD)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["-timestamp", "-id"], name="audit_newest"),
            models.Index(fields=["domain", "-timestamp"], name="audit_domain"),
            models.Index(fields=["actor_name", "-timestamp"], name="audit_actor"),
            models.Index(fields=["action_type", "-timestamp"], name="audit_action"),
            models.Index(fields=["proposal_id"], name="audit_proposal"),
            models.Index(fields=["workflow", "-timestamp"], name="audit_workflow"),
            models.Index(fields=["trace_id"], name="audit_trace"),
            models.Index(fields=["retention", "timestamp"], name="audit_retention"),
        ]
        permissions = [("view_audit", "Can view the whole audit trail")]

    def __str__(self):
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.action_type} {self.summary[:60]}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRecord("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    save.alters_data = True

    def delete(self, *args, **kwargs):
        raise ImmutableRecord("Audit events are never deleted (only the retention purge removes them).")

    delete.alters_data = True

    @property
    def actor(self) -> str:
        return self.actor_name or self.actor_type


class AuditSeal(models.Model):
    """An event's link in the chain. Written with the event (``position`` empty: not sealed yet) and
    completed by ``seal.audit_seal`` in commit order. ``chain`` = HMAC(key, previous chain ‖ ``leaf`` ‖
    event id ‖ event time ‖ retention class); ``leaf`` = SHA-256 of the event's canonical content.
    ``purged_by`` is set when the retention purge removed the event: the link stays."""

    event_id = models.UUIDField(unique=True)
    position = models.BigIntegerField(null=True, unique=True)
    leaf = models.CharField(max_length=64, blank=True)
    chain = models.CharField(max_length=64, blank=True)
    event_timestamp = models.DateTimeField()
    retention = models.CharField(max_length=12, choices=Retention.choices)
    purged_by = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["id"], name="audit_seal_pending", condition=models.Q(position__isnull=True)),
        ]

    def __str__(self):
        return f"seal {self.position} of {self.event_id}"


class AuditHead(models.Model):
    """The chain's tip (one row, pk 1): the last sealed position and its chain value. Locked only by
    the sealer and the purge, never by the hot paths."""

    position = models.BigIntegerField(default=0)
    chain = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"audit head at {self.position}"


class AuditCheckpoint(models.Model):
    """An anchor: the chain value at ``position``, where verification starts once the purge pruned the
    links before it (all of them purged events)."""

    position = models.BigIntegerField(unique=True)
    chain = models.CharField(max_length=64)
    purge_event_id = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-position"]

    def __str__(self):
        return f"checkpoint at {self.position}"


class RetentionClass(models.Model):
    """How long events of a retention class are kept. Defaults: standard decisions 90 days,
    significant 1 year, compliance-relevant 7 years (editable in admin)."""

    name = models.CharField(max_length=12, choices=Retention.choices, unique=True)
    days = models.PositiveIntegerField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["days"]
        verbose_name_plural = "retention classes"

    def __str__(self):
        return f"{self.get_name_display()}: {self.days} days"


class AuditAlert(models.Model):
    """Something a domain's orchestrators must look at: authority widened, an execution refused."""

    class Kind(models.TextChoices):
        AUTHORITY_WIDENED = "authority_widened", "Authority widened"
        EXECUTION_REFUSED = "execution_refused", "Execution refused"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    domain = models.CharField(max_length=80, blank=True, help_text="The domain's slug; blank = enterprise-wide.")
    summary = models.CharField(max_length=500)
    event_id = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}: {self.summary[:60]}"
