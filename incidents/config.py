"""What admins edit: severities (targets, responses, update cadence), the grouping window, each
domain's responder group and subscribers. Admin calls these; each change is audited
(``AuditAction.CONFIGURATION``) and kept in the row's history."""
from django.db import transaction

from governance.audit.models import AuditAction
from governance.audit.record import audit_record
from orchestra_site.errors import InvalidInput

from .models import DomainResponse, IncidentSettings, Severity

SEVERITY_FIELDS = {"target_seconds", "response", "update_every_seconds"}


def _audit(summary: str, by, *, domain: str = "", before=None, after=None) -> None:
    audit_record(AuditAction.CONFIGURATION, summary, actor=by, status="changed", domain=domain,
                 details={"context": before, "outcome": after})


def severity_update(*, severity: Severity, by, **fields) -> Severity:
    """Change a severity's ``target_seconds`` (> 0), ``response`` or ``update_every_seconds``. Open
    incidents keep the due time they have; a severity change or impact correction recomputes it."""
    unknown = set(fields) - SEVERITY_FIELDS
    if unknown:
        raise InvalidInput(f"Not editable: {', '.join(sorted(unknown))}.", field=sorted(unknown)[0])
    if "target_seconds" in fields and not fields["target_seconds"]:
        raise InvalidInput("A resolution target is more than 0 seconds.", field="target_seconds")
    with transaction.atomic():
        before = {k: getattr(severity, k) for k in fields}
        for name, value in fields.items():
            setattr(severity, name, value)
        severity._change_reason, severity._history_user = "edited in admin", by
        severity.save()
        _audit(f"severity {severity.level} changed", by, before=before, after=fields)
    return severity


def settings_update(*, by, grouping_window_seconds: int) -> IncidentSettings:
    with transaction.atomic():
        row, _ = IncidentSettings.objects.select_for_update().get_or_create(pk=1)
        before = row.grouping_window_seconds
        row.grouping_window_seconds = grouping_window_seconds
        row._history_user = by
        row.save()
        _audit("incident grouping window changed", by, before={"grouping_window_seconds": before},
               after={"grouping_window_seconds": grouping_window_seconds})
    return row


def domain_response_set(*, domain, by, responders=None, subscribers: str = "") -> DomainResponse:
    """Set ``domain``'s responder group (a ``Group`` or None) and subscribers (one address a line)."""
    with transaction.atomic():
        row, _ = DomainResponse.objects.select_for_update().get_or_create(domain=domain)
        before = {"responders": str(row.responders or ""), "subscribers": len(row.subscriber_list())}
        row.responders, row.subscribers, row._history_user = responders, subscribers, by
        row.save()
        _audit(f"incident response of {domain.name} changed", by, domain=domain.slug, before=before,
               after={"responders": str(responders or ""), "subscribers": len(row.subscriber_list())})
    return row
