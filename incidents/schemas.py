"""API schemas of incidents: what agents, scripts and chat bots send and get back.

Bodies are strict (``InputSchema``). Durations are in seconds; timestamps in UTC (``Timestamp``).
"""
from typing import Any
from uuid import UUID

from ninja import Field, Schema

from orchestra_site.schemas import InputSchema, Timestamp, choices

from .metrics import metrics_of
from .models import Incident, Severity, SeverityLevel, Status

SeverityEnum = choices(SeverityLevel)
StatusEnum = choices(Status)


class IncidentIn(InputSchema):
    """A report (from an agent: a candidate in ``triage``) or a declaration (from a person's token:
    ``investigating``, the caller commands it). A report of the same ``resource`` and ``symptom`` as an
    open incident reported within the grouping window (default one hour) joins it: 200, ``grouped`` true."""

    title: str = Field(..., min_length=1, max_length=200)
    severity: SeverityEnum = Field(..., description="SEV-1 (worst; target 1 h) … SEV-4 (target 1 week)")
    domain: str | None = Field(None, max_length=80, description="Domain slug. Default: the agent's own domain "
                                                                "(required with a person's token)")
    resource: str = Field("", max_length=255, description="What is affected, e.g. `service:payments`")
    symptom: str = Field("", max_length=200, description="What is observed, e.g. `error_rate_high`; with "
                                                         "`resource`, the key reports are grouped by")
    summary: str = Field("", max_length=20_000)
    evidence: dict[str, Any] = Field(default_factory=dict, description="JSON object: metrics, links, log lines")
    workflow: str = Field("", max_length=120, description="Workflow id for the provenance trace")


class FindingIn(InputSchema):
    """A finding on the incident's timeline. Findings of different agents with the same ``question`` and
    different ``answer`` are shown side by side as contradicting, never merged."""

    summary: str = Field(..., min_length=1, max_length=5000)
    evidence: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = Field(None, ge=0, le=1, description="0–1")
    question: str = Field("", max_length=120, description="What it answers, e.g. `root_cause` (optional)")
    answer: str = Field("", max_length=200, description="Its short answer, e.g. `deploy 2026.11.4` (optional)")


class StatusIn(InputSchema):
    """Accepting a candidate is ``investigating``; declining is ``declined`` (``reason`` required)."""

    status: StatusEnum
    reason: str = Field("", max_length=2000)


class CommanderIn(InputSchema):
    username: str = Field(..., min_length=1, max_length=150)
    reason: str = Field(..., min_length=1, max_length=2000)


class UpdateIn(InputSchema):
    """A status update draft: conditions (what is happening), actions (what we do), needs (what we need)."""

    headline: str = Field("", max_length=200, description="Public headline. Default: the incident's title")
    conditions: str = Field(..., min_length=1, max_length=5000)
    actions: str = Field("", max_length=5000)
    needs: str = Field("", max_length=5000)


class MetricsOut(Schema):
    time_to_acknowledge: float | None = Field(..., description="Seconds, reported → accepted")
    time_to_mitigate: float | None = Field(..., description="Seconds, impact started → mitigated")
    time_to_resolve: float | None = Field(..., description="Seconds, impact started → resolved")
    target_seconds: int = Field(..., description="The severity's resolution target")
    target_met: bool | None = Field(..., description="Null while not known")


class AgentOut(Schema):
    agent: str
    last_report: str
    last_reported_at: Timestamp | None


class RemediationOut(Schema):
    proposal: UUID
    action: str
    summary: str
    status: str
    by_commander: bool = Field(..., description="Decided by the incident's commander")


class IncidentOut(Schema):
    id: UUID
    reference: str
    title: str
    severity: SeverityEnum
    status: StatusEnum
    domain: str
    resource: str
    symptom: str
    summary: str
    affected_resources: list[str]
    workflow: str
    commander: str | None
    reported_by: str | None = Field(None, description="The agent that raised it")
    declared_by: str | None = Field(None, description="The person who declared it")
    reported_at: Timestamp
    impact_started_at: Timestamp
    accepted_at: Timestamp | None
    identified_at: Timestamp | None
    mitigated_at: Timestamp | None
    resolved_at: Timestamp | None
    closed_at: Timestamp | None
    declined_at: Timestamp | None
    declined_reason: str
    merged_into: UUID | None
    target_due_at: Timestamp
    escalation_level: int = Field(..., description="0 none, 1 domain orchestrator, 2 enterprise board")
    metrics: MetricsOut
    agents: list[AgentOut]
    remediations: list[RemediationOut]
    grouped: bool = Field(False, description="On a report: true when it joined an open incident")

    @staticmethod
    def resolve_domain(i: Incident) -> str:
        return i.domain.slug

    @staticmethod
    def resolve_commander(i: Incident) -> str | None:
        return i.commander.get_username() if i.commander_id else None

    @staticmethod
    def resolve_reported_by(i: Incident) -> str | None:
        return i.reported_by.name if i.reported_by_id else None

    @staticmethod
    def resolve_declared_by(i: Incident) -> str | None:
        return i.declared_by.get_username() if i.declared_by_id else None

    @staticmethod
    def resolve_merged_into(i: Incident):
        return i.merged_into_id

    @staticmethod
    def resolve_metrics(i: Incident) -> dict:
        target = Severity.objects.filter(level=i.severity).values_list("target_seconds", flat=True).first() or 0
        m = metrics_of(i, target)
        return {k: getattr(m, k) for k in MetricsOut.model_fields}

    @staticmethod
    def resolve_agents(i: Incident) -> list[dict]:
        return [{"agent": a.agent.name, "last_report": a.last_report, "last_reported_at": a.last_reported_at}
                for a in i.agents.select_related("agent")]

    @staticmethod
    def resolve_remediations(i: Incident) -> list[dict]:
        return [{"proposal": r.proposal_id, "action": r.proposal.action, "summary": r.proposal.summary,
                 "status": r.proposal.status, "by_commander": r.by_commander}
                for r in i.remediations.select_related("proposal")]

    @staticmethod
    def resolve_grouped(i: Incident) -> bool:
        return getattr(i, "grouped", False)


class FindingOut(Schema):
    id: int
    incident: UUID
    at: Timestamp
    by: str
    summary: str
    evidence: dict[str, Any]
    confidence: float | None
    question: str
    answer: str

    @staticmethod
    def resolve_incident(e) -> UUID:
        return e.incident_id

    @staticmethod
    def resolve_by(e) -> str:
        return e.actor


class UpdateOut(Schema):
    id: int
    incident: UUID
    state: str
    headline: str
    conditions: str
    actions: str
    needs: str
    created_at: Timestamp

    @staticmethod
    def resolve_incident(u) -> UUID:
        return u.incident_id
