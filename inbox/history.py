"""The history row of a newly created proposal, written with one prepared INSERT.

django-simple-history writes it from its ``post_save`` receiver: per save it builds a history manager
class (``HistoryDescriptor.__get__`` runs ``Manager.from_queryset``, i.e. ``inspect.getmembers``), a
``HistoricalProposal`` instance and compiles the ORM INSERT of its 45 columns — a fifth of the CPU of
a submission in the profile. ``proposal_save_created`` saves the proposal with that receiver skipped
(``skip_history_when_saving``, simple-history's own switch) and writes the very row it would have
written (same columns, ``history_type`` ``+``, ``history_date`` now or ``_history_date``, the user from
``_history_user`` or the request, the ``_change_reason``), from an INSERT whose SQL is built once per
process. Every later change of the proposal goes through simple-history as before.
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


def proposal_save_created(p: Proposal) -> None:
    """INSERT the new proposal ``p`` (``save(force_insert=True)``: its signals run as ever) and its
    ``+`` history row (one prepared INSERT). Inside the caller's transaction. Raises what the INSERTs
    raise (``IntegrityError`` for a duplicate idempotency key)."""
    p.skip_history_when_saving = True
    try:
        p.save(force_insert=True)
    finally:
        del p.skip_history_when_saving
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    alias = router.db_for_write(Proposal, instance=p)
    connection = connections[alias]
    sql, fields = _insert_for(alias)
    special = {"history_date": getattr(p, "_history_date", None) or timezone.now(), "history_type": "+",
               "history_user_id": _history_user_id(p), "history_change_reason": get_change_reason_from_object(p)}
    params = [f.get_db_prep_save(special[f.attname] if f.attname in _SPECIAL else getattr(p, f.attname), connection)
              for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
