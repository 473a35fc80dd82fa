"""A proposal's history row, written with one prepared INSERT (its creation and its decision).

django-simple-history writes it from its ``post_save`` receiver: per save it builds a history manager
class (``HistoryDescriptor.__get__`` runs ``Manager.from_queryset``, i.e. ``inspect.getmembers``), a
``HistoricalProposal`` instance and compiles the ORM INSERT of its 45 columns — a fifth of the CPU of
a submission in the profile. ``proposal_save`` saves the proposal with that receiver skipped
(``skip_history_when_saving``, simple-history's own switch) and writes the very row it would have
written (same columns, ``history_type`` ``+`` or ``~``, ``history_date`` now or ``_history_date``, the
user from ``_history_user`` or the request, the ``_change_reason``), from an INSERT whose SQL is built
once per process. The submission and the decision use it; other changes go through simple-history.
"""
from django.conf import settings
from django.db import connections, router
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.utils import get_change_reason_from_object

from .models import Proposal

_SPECIAL = ("history_date", "history_type", "history_user_id", "history_change_reason")
_sql: dict = {}  # db alias -> (INSERT sql, the historical model's fields in column order)


def _insert_for(alias: str):
    if alias not in _sql:
        model = Proposal.history.model
        fields = [f for f in model._meta.concrete_fields if f.attname != "history_id"]
        qn = connections[alias].ops.quote_name
        # Table and column names from the model, quoted; the values are parameters.
        sql = (f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608
               f"VALUES ({', '.join(['%s'] * len(fields))})")
        _sql[alias] = (sql, fields)
    return _sql[alias]


def _history_user_id(p: Proposal):
    """simple-history's answer: ``_history_user`` if set, else the request's authenticated user."""
    try:
        user = p._history_user
    except AttributeError:
        request = getattr(HistoricalRecords.context, "request", None)
        user = getattr(request, "user", None)
        if user is not None and not user.is_authenticated:
            user = None
    return user.pk if user is not None else None


def proposal_save(p: Proposal, *, created: bool = False) -> None:
    """Save ``p`` (``created``: INSERT a new proposal, ``save(force_insert=True)``; else ``save()``, an
    UPDATE of every column; its signals and checks run as ever) and write its history row (``+`` or
    ``~``) with one prepared INSERT. Inside the caller's transaction. Raises what ``save`` raises
    (``IntegrityError`` for a duplicate idempotency key, ``ImmutableRecord`` for a decided row)."""
    p.skip_history_when_saving = True
    try:
        p.save(force_insert=True) if created else p.save()
    finally:
        del p.skip_history_when_saving
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    alias = router.db_for_write(Proposal, instance=p)
    connection = connections[alias]
    sql, fields = _insert_for(alias)
    special = {"history_date": getattr(p, "_history_date", None) or timezone.now(),
               "history_type": "+" if created else "~",
               "history_user_id": _history_user_id(p), "history_change_reason": get_change_reason_from_object(p)}
    params = [f.get_db_prep_save(special[f.attname] if f.attname in _SPECIAL else getattr(p, f.attname), connection)
              for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
