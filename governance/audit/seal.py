"""Tamper evidence: the keyed hash chain over the audit trail, in the manner of Certificate
Transparency's signed tree heads, but as a chain.

Writers never touch the chain: each event comes with an unsealed ``AuditSeal`` row. ``audit_seal``
(a django-q2 schedule, every minute, and callable any time) locks the one ``AuditHead`` row, takes the
unsealed rows it can see (committed ones only, so in commit order across runs, insertion order within
one) and links each: ``chain_n = HMAC-SHA256(key, chain_{n-1} ‖ leaf_n ‖ event id ‖ event time ‖
retention class)``. The key (``settings.ORCHESTRA_AUDIT_KEY``) is not in the database, so someone who can
only write the database cannot rebuild the chain after changing a row.

``audit_verify`` walks the chain from the newest checkpoint to the head and reports the first problem:
an event whose content no longer matches its leaf (edited), an event missing without a purge that
covered it (deleted), a missing or altered link, a head that does not match the last link (truncated).
"""
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditAction, AuditCheckpoint, AuditEvent, AuditHead, AuditSeal
from .record import leaf_of

BATCH = 2000


def _key() -> bytes:
    return hashlib.sha256(b"orchestra-audit-chain:" + settings.ORCHESTRA_AUDIT_KEY.encode()).digest()


def link(previous: str, leaf: str, seal: AuditSeal, key: bytes) -> str:
    """The chain value of ``seal`` after ``previous``."""
    message = "|".join([previous, leaf, str(seal.event_id), seal.event_timestamp.isoformat(), seal.retention])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def head() -> AuditHead:
    return AuditHead.objects.get_or_create(pk=1)[0]


def audit_seal(*, batch: int = BATCH) -> int:
    """Seal every event committed and not sealed yet, ``batch`` per transaction; returns how many.
    Safe on several clusters at once: the head row lock makes sealers take turns."""
    head()  # exists before anyone locks it
    key, total = _key(), 0
    while True:
        with transaction.atomic():
            tip = AuditHead.objects.select_for_update().get(pk=1)
            pending = list(AuditSeal.objects.filter(position__isnull=True).order_by("id")[:batch])
            if not pending:
                return total
            events = AuditEvent.objects.in_bulk([s.event_id for s in pending])
            position, chain, rows = tip.position, tip.chain, []
            for seal in pending:
                event = events.get(seal.event_id)
                position += 1
                leaf = leaf_of(event) if event is not None else ""  # gone before sealing: verify reports it
                chain = link(chain, leaf, seal, key)
                rows.append((position, leaf, chain, seal.pk))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {AuditSeal._meta.db_table} SET position = %s, leaf = %s, chain = %s WHERE id = %s",  # noqa: S608 (table name from the model)
                    rows,
                )
            tip.position, tip.chain, tip.sealed_at = position, chain, timezone.now()
            tip.save()
        total += len(pending)
        if len(pending) < batch:
            return total


@dataclass
class Verification:
    ok: bool
    verified: int  # events whose content matched their link
    purged: int  # links of events removed by the retention purge
    position: int  # the head's position
    problem: str = ""
    event_id: str = ""


def audit_verify(*, chunk: int = 5000) -> Verification:
    """Walk the sealed chain; stop at the first broken or missing link. Reads ``chunk`` links at a time
    (constant memory). Events written but not sealed yet are not judged (they are counted as pending)."""
    key, tip = _key(), head()
    checkpoint = AuditCheckpoint.objects.order_by("-position").first()
    position, chain = (checkpoint.position, checkpoint.chain) if checkpoint else (0, "")
    verified = purged = 0
    purges: dict = {}

    def broken(problem: str, event_id="") -> Verification:
        return Verification(False, verified, purged, tip.position, problem, str(event_id))

    while position < tip.position:
        seals = list(AuditSeal.objects.filter(position__gt=position, position__lte=position + chunk)
                     .order_by("position"))
        events = AuditEvent.objects.in_bulk([s.event_id for s in seals])
        for seal in seals:
            if seal.position != position + 1:
                return broken(f"link {position + 1} is missing (after position {position})")
            if link(chain, seal.leaf, seal, key) != seal.chain:
                return broken(f"link {seal.position} does not match the chain (altered link)", seal.event_id)
            event = events.get(seal.event_id)
            if event is None:
                if seal.purged_by is None or not seal.leaf:
                    return broken(f"event at link {seal.position} is missing (deleted)", seal.event_id)
                if not purge_covers(seal, purges):
                    return broken(f"event at link {seal.position} is missing, and the purge it names could not "
                                  "have removed it", seal.event_id)
                purged += 1
            elif leaf_of(event) != seal.leaf:
                return broken(f"event at link {seal.position} was changed after it was sealed", seal.event_id)
            else:
                verified += 1
            position, chain = seal.position, seal.chain
        if not seals:
            return broken(f"link {position + 1} is missing (after position {position})")
    if chain != tip.chain:
        return broken(f"the chain head at {tip.position} does not match the last link (truncated or altered)")
    unsealed_ghosts = AuditSeal.objects.filter(position__isnull=True).exclude(
        event_id__in=AuditEvent.objects.values("id")).values_list("event_id", flat=True).first()
    if unsealed_ghosts:
        return broken("an event waiting to be sealed is missing (deleted)", unsealed_ghosts)
    return Verification(True, verified, purged, tip.position)


def purge_covers(seal: AuditSeal, cache: dict) -> bool:
    """Whether the purge that marked ``seal`` (``seal.purged_by``) could lawfully remove its event: that
    purge event exists and the event was older than its cut-off for the event's class; or the purge event
    is itself gone, lawfully (its own link is marked purged). ``cache`` memoises per purge event."""
    pid = seal.purged_by
    if pid not in cache:
        event = AuditEvent.objects.filter(id=pid, action_type=AuditAction.PURGE).first()
        if event is not None:
            raw = (event.details.get("context") or {}).get("cutoffs") or {}
            cache[pid] = {k: datetime.fromisoformat(v) for k, v in raw.items()}
        else:
            cache[pid] = (AuditSeal.objects.filter(event_id=pid, purged_by__isnull=False)
                          .exclude(purged_by=pid).exists())  # purged by another purge, lawfully
    known = cache[pid]
    if isinstance(known, bool):
        return known
    cutoff = known.get(seal.retention)
    return cutoff is not None and seal.event_timestamp < cutoff
