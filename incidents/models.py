"""Incidents: when production breaks, agents investigate in parallel and a human commander decides.

- ``Severity``: SEV-1 … SEV-4, each with its resolution target, the response it implies (who is
  notified at once) and how often a status update is due. Edited in admin (``incidents.services``).
- ``IncidentSettings``: one row, the storm-grouping window.
- ``DomainResponse``: a domain's responder group (who sees, declares and triages its incidents) and
  the e-mail addresses of its status-update subscribers.
- ``Incident``: the incident, its lifecycle timestamps (each with who, on the ``TimelineEntry`` of
  the change), its links. The commander's authority is a django-guardian object permission,
  ``incidents.command_incident`` on the incident (``incidents.permissions``); ``commander`` is the
  same fact kept on the row for listing, moved together with the permission by ``team.py``.
- ``Role``: scribe, communications lead, subject-matter experts (and the commander again) as assigned.
- ``AgentParticipant``: which agents work on it and what each reported last.
- ``TimelineEntry``: append-only record of notes, reports, findings, status changes, decisions …
- ``Remediation``: a proposal (``inbox.Proposal``) made for the incident.
- ``StatusUpdate``: a draft in the conditions / actions / needs shape, published to subscribers and
  the public status page.
- ``Review``: the post-incident review (Markdown), generated from the record, edited by the team.
"""
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from governance.models import Agent, Domain


class SeverityLevel(models.TextChoices):
    SEV1 = "SEV-1", "SEV-1"
    SEV2 = "SEV-2", "SEV-2"
    SEV3 = "SEV-3", "SEV-3"
    SEV4 = "SEV-4", "SEV-4"


class Response(models.TextChoices):
    """Who is notified when an incident of a severity is declared."""

    PAGE_ALL = "page_all", "Notify everyone in the domain's responder group at once"
    PAGE_COMMANDER = "page_commander", "Notify the commander (the responder group when there is none)"
    QUEUE = "queue", "Normal queue: the board only, nobody notified"


class Severity(models.Model):
    """The targets and response of one severity. Rows for SEV-1 … SEV-4 are created by a migration."""

    level = models.CharField(max_length=5, choices=SeverityLevel.choices, unique=True)
    target_seconds = models.PositiveIntegerField(help_text="Resolution target: impact start → resolved (seconds).")
    response = models.CharField(max_length=16, choices=Response.choices)
    update_every_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="A status update is due this often while open (seconds); blank = never.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["level"]
        verbose_name_plural = "severities"

    def __str__(self):
        return self.level


class IncidentSettings(models.Model):
    """One row (pk 1): settings of the incident app that admins edit."""

    grouping_window_seconds = models.PositiveIntegerField(
        default=3600, help_text="Agent reports of the same resource and symptom within this long of the "
                                "incident's last report are grouped into it (seconds).")
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "incident settings"

    def __str__(self):
        return "Incident settings"


class DomainResponse(models.Model):
    """A domain's incident response: its responder group and status-update subscribers."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="incident_response")
    responders = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   help_text="See, declare and triage the domain's incidents; take roles on them.")
    subscribers = models.TextField(blank=True, help_text="E-mail addresses, one per line, that get published "
                                                         "status updates of the domain's incidents.")
    history = HistoricalRecords()

    def __str__(self):
        return f"Incident response of {self.domain}"

    def subscriber_list(self) -> list[str]:
        return [line.strip() for line in self.subscribers.splitlines() if line.strip()]


class Status(models.TextChoices):
    TRIAGE = "triage", "Triage"
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MITIGATED = "mitigated", "Mitigated"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    DECLINED = "declined", "Declined"
    MERGED = "merged", "Merged"


OPEN = (Status.TRIAGE, Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED)


class Incident(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=200)
    severity = models.CharField(max_length=5, choices=SeverityLevel.choices, db_index=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.TRIAGE)
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="incidents")
    resource = models.CharField(max_length=255, blank=True, help_text="What is affected, e.g. service:payments.")
    symptom = models.CharField(max_length=200, blank=True, help_text="What is observed, e.g. error_rate_high.")
    summary = models.TextField(blank=True)
    affected_resources = models.JSONField(default=list, blank=True)
    workflow = models.CharField(max_length=120, blank=True, help_text="The provenance trace's workflow id.")
    group_key = models.CharField(
        max_length=460, null=True, blank=True, editable=False,
        help_text="resource + symptom while further reports may be grouped into it (unique: no storms).")
    reported_by = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    commander = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="commanded_incidents")
    # --- the lifecycle's timestamps (who: the timeline entry of the change) ---
    reported_at = models.DateTimeField(help_text="First report (or declaration).")
    last_reported_at = models.DateTimeField(help_text="Latest report grouped into it (the grouping window).")
    impact_started_at = models.DateTimeField(help_text="Defaults to the first report; editable.")
    accepted_at = models.DateTimeField(null=True, blank=True)
    identified_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    declined_reason = models.TextField(blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged")
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    # --- targets, escalation and reminders ---
    target_due_at = models.DateTimeField(db_index=True, help_text="impact_started_at + the severity's target.")
    escalation_level = models.PositiveSmallIntegerField(
        default=0, help_text="0 none; 1 the domain orchestrator; 2 the enterprise board (target breached).")
    escalated_at = models.DateTimeField(null=True, blank=True)
    last_update_at = models.DateTimeField(null=True, blank=True, help_text="Last published status update.")
    update_reminded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-reported_at"]
        permissions = [("command_incident", "Is the incident's commander: decides its remediations")]
        indexes = [models.Index(fields=["status", "severity", "target_due_at"], name="incident_board"),
                   models.Index(fields=["updated_at"], name="incident_updated")]  # incidents.watcher
        constraints = [models.UniqueConstraint(fields=["group_key"], condition=models.Q(group_key__isnull=False),
                                               name="incident_one_open_group")]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{str(self.id)[:6].upper()}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def is_candidate(self) -> bool:
        return self.status == Status.TRIAGE


class RoleKind(models.TextChoices):
    COMMANDER = "commander", "Incident commander"
    SCRIBE = "scribe", "Scribe"
    COMMS = "comms", "Communications lead"
    SME = "sme", "Subject-matter expert"


class Role(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_roles")
    kind = models.CharField(max_length=10, choices=RoleKind.choices)
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["kind", "assigned_at"]
        constraints = [models.UniqueConstraint(fields=["incident", "user", "kind"], name="incident_role_once")]

    def __str__(self):
        return f"{self.user} {self.kind} of {self.incident_id}"


class AgentParticipant(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="agents")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)
    last_report = models.CharField(max_length=500, blank=True)
    last_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [models.UniqueConstraint(fields=["incident", "agent"], name="incident_agent_once")]

    def __str__(self):
        return f"{self.agent} on {self.incident_id}"


class EntryKind(models.TextChoices):
    REPORT = "report", "Report"
    NOTE = "note", "Note"
    FINDING = "finding", "Finding"
    STATUS = "status", "Status change"
    SEVERITY = "severity", "Severity change"
    COMMAND = "command", "Command hand-off"
    ROLE = "role", "Role"
    REMEDIATION = "remediation", "Remediation proposed"
    DECISION = "decision", "Remediation decided"
    UPDATE = "update", "Status update"
    ESCALATION = "escalation", "Escalation"
    MERGE = "merge", "Merge or split"
    LINK = "link", "Related incident"
    EDIT = "edit", "Edit"


class TimelineEntry(models.Model):
    """One line of the timeline; never changed once written. ``question``/``answer`` let findings of
    different agents that answer the same question differently be shown side by side."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=12, choices=EntryKind.choices)
    at = models.DateTimeField()
    agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+")
    summary = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    confidence = models.FloatField(null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1)])
    question = models.CharField(max_length=120, blank=True)
    answer = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True, help_text="From/to status, proposal id, …")

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [models.Index(fields=["incident", "-at", "-id"], name="timeline_newest"),  # newest line: no sort
                   models.Index(fields=["at"], name="timeline_at")]  # incidents.watcher

    def __str__(self):
        return f"{self.kind} {self.at:%H:%M:%S} {self.summary[:60]}"

    @property
    def actor(self) -> str:
        if self.agent_id:
            return self.agent.name
        return self.user.get_username() if self.user_id else "system"


class Remediation(models.Model):
    """A proposal an agent made for the incident. ``by_commander``: the commander decides it (routed
    for first-line review); otherwise policy sent it elsewhere (refused, auto-approved, escalated)."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="remediations")
    proposal = models.OneToOneField("inbox.Proposal", on_delete=models.PROTECT, related_name="+")
    by_commander = models.BooleanField(default=False)
    outcome = models.CharField(max_length=24, default="pending", help_text="The proposal's status, once decided.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.proposal_id} for {self.incident_id}"


class UpdateState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    DISCARDED = "discarded", "Discarded"


class StatusUpdate(models.Model):
    """A status update: what is happening (conditions), what we do (actions), what we need (needs).
    The public page shows ``headline`` and the three texts of published updates only."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    headline = models.CharField(max_length=200)
    conditions = models.TextField()
    actions = models.TextField(blank=True)
    needs = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=UpdateState.choices, default=UpdateState.DRAFT)
    public_status = models.CharField(max_length=14, blank=True, help_text="The incident's status when published.")
    drafted_by_agent = models.ForeignKey(Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    drafted_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.headline} ({self.state})"


class Review(models.Model):
    """The post-incident review, Markdown; generated from the record, then edited by the team."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="review")
    body = models.TextField()
    action_items = models.TextField(blank=True, help_text="One per line.")
    generated_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    history = HistoricalRecords()

    def __str__(self):
        return f"Review of {self.incident_id}"
