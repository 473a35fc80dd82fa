"""Provenance: the audit trail.

One record per change that matters: who or what did it (``actor``), when, what (``action_type``,
``summary``), why (``details.reasoning``), with what outcome (``status``, ``details.outcome``), under
which policy version, in which trace and workflow. Written by the service that makes the change, in
the same database transaction (``record.audit_record``); sealed afterwards into a keyed hash chain
(``seal``); kept per retention class (``retention``); searched and exported (``selectors``, ``export``).

Modules:
- ``models``: ``AuditEvent`` (immutable), ``AuditSeal`` (its link in the chain), ``AuditHead``,
  ``AuditCheckpoint``, ``RetentionClass``, ``AuditAlert``.
- ``context``: the request's trace id and workflow (W3C ``traceparent``), read by ``audit_record``.
- ``record``: ``audit_record`` / ``audit_record_many``, the only writers of events.
- ``seal``: ``audit_seal`` (the periodic sealer) and ``audit_verify`` (``manage.py verify_audit``).
- ``retention``: retention classes and ``audit_purge``.
- ``alerts``: permission-widening alerts to a domain's orchestrators.
- ``selectors`` / ``export`` / ``api`` / ``views``: finding things.
"""
