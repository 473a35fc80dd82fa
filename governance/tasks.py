"""django-q2 tasks of the audit trail (schedules ``audit-seal``, every minute, and ``audit-purge``, daily;
created by migration ``0004_audit_setup``). Thin: each calls its service and returns what it did."""
import logging

from .audit.retention import audit_purge
from .audit.seal import audit_seal

log = logging.getLogger("orchestra.audit")


def audit_seal_task() -> int:
    sealed = audit_seal()
    log.info("audit: sealed %s events", sealed)
    return sealed


def audit_purge_task() -> dict:
    result = audit_purge()
    log.info("audit: retention purge %s", result)
    return result
