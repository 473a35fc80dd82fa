"""Logs an operator can ship: the request id, who is acting, and the log format.

- ``request_id`` (middleware, in ``MIDDLEWARE``): every request gets an id, the caller's
  ``X-Request-ID`` when it sent a sensible one (1–200 characters of ``A-Z a-z 0-9 . _ - : /``), else a
  new UUID (hex). It is returned in the response's ``X-Request-ID`` and put on every log line written
  while the request is served, with who is acting: ``user:<username>`` or ``agent:<name>`` (as far as
  the request has authenticated when the line is written; nothing is queried to find out). Each request
  also writes one INFO line on the ``orchestra.requests`` logger: method, path, status, duration (ms);
  with ``ORCHESTRA_REQUEST_LOG=refused`` (what ``./scripts/up`` sets, unless ``--access-log``) only
  refused and failed requests (4xx, 5xx) are INFO lines, the others DEBUG.
- ``RequestContext`` (a logging filter, on the console handler): adds ``request_id`` and ``actor`` to
  every record (``null`` outside a request: the q2 cluster, management commands).
- ``LOG_FORMAT`` (settings): ``json``, one JSON object per line (``timestamp`` ISO 8601 UTC, ``level``,
  ``logger``, ``message``, ``request_id``, ``actor``, ``trace_id`` (the W3C trace of the audit trail),
  ``exc_info`` with the traceback; python-json-logger),
  the default in production mode; or ``plain``, one readable line, the default in development.
"""
import functools
import logging
import re
import time
import uuid
from contextvars import ContextVar
from inspect import iscoroutinefunction

from django.utils.decorators import sync_and_async_middleware

HEADER = "X-Request-ID"
_ACCEPTED = re.compile(r"[A-Za-z0-9._\-:/]{1,200}")
current_request: ContextVar = ContextVar("orchestra_request", default=None)
requests_log = logging.getLogger("orchestra.requests")


def request_id_from(request) -> str:
    """The caller's ``X-Request-ID`` when acceptable (module docstring), else a new one."""
    given = request.headers.get(HEADER, "")
    return given if _ACCEPTED.fullmatch(given) else uuid.uuid4().hex


def actor_of(request) -> str | None:
    """``agent:<name>`` or ``user:<username>`` of what the request has authenticated so far, without a query:
    the API's bearer auth (``request.auth``), else a session user already loaded by a view."""
    if request is None:
        return None
    auth = request.__dict__.get("auth")
    if auth is None:
        auth = request.__dict__.get("_cached_user")  # set once Django has loaded request.user
    if auth is None or not getattr(auth, "is_authenticated", True):
        return None
    if getattr(getattr(auth, "_meta", None), "label", "") == "governance.Agent":
        return f"agent:{auth.name}"
    username = getattr(auth, "get_username", None)
    return f"user:{username()}" if username else None


class RequestContext(logging.Filter):
    """Adds ``request_id``, ``actor`` and ``trace_id`` to each record (None outside a request)."""

    def filter(self, record):
        request = current_request.get()
        record.request_id = getattr(request, "request_id", None)
        record.actor = actor_of(request)
        record.trace_id = getattr(request, "trace_id", None)  # W3C trace id (orchestra_site.middleware.trace_context)
        return True


def _started(request) -> tuple:
    request.request_id = request_id_from(request)
    return current_request.set(request), time.perf_counter()


def _finished(request, response, token, started, *, all_requests: bool = True):
    response[HEADER] = request.request_id
    level = logging.INFO if all_requests or response.status_code >= 400 else logging.DEBUG
    requests_log.log(level, "%s %s %s %.1fms", request.method, request.path, response.status_code,
                     (time.perf_counter() - started) * 1000)
    current_request.reset(token)
    return response


@sync_and_async_middleware
def request_id(get_response):
    from django.conf import settings

    # ORCHESTRA_REQUEST_LOG=refused (the demo stack's default): only refused and failed requests at INFO
    all_requests = settings.ORCHESTRA_REQUEST_LOG != "refused"
    finished = functools.partial(_finished, all_requests=all_requests)
    if iscoroutinefunction(get_response):
        async def middleware(request):
            token, started = _started(request)
            try:
                return finished(request, await get_response(request), token, started)
            except BaseException:
                current_request.reset(token)
                raise
    else:
        def middleware(request):
            token, started = _started(request)
            try:
                return finished(request, get_response(request), token, started)
            except BaseException:
                current_request.reset(token)
                raise
    return middleware


WEBSOCKET_CHATTER = re.compile(r'.* - "WebSocket [^"]*" \[accepted\]$|connection (open|closed)$')


class ReadableConsole(logging.Filter):
    """What the console leaves out, so that ``./scripts/up`` stays readable:

    - ``django.request``'s warning about a refused request (4xx: a 403's ``PermissionDenied`` comes with
      its traceback): ``orchestra.requests`` already writes that request's one line, with its status;
      server errors (5xx) keep their line and traceback;
    - WebSocket connects and disconnects (uvicorn's ``[accepted]``, websockets' ``connection open`` /
      ``closed``) are DEBUG: shown only when their logger is at DEBUG (``LOG_LEVEL=DEBUG``). A refused
      socket (``"WebSocket /ws/…" 403``) keeps its one INFO line."""

    def filter(self, record):
        if record.name == "django.request" and getattr(record, "status_code", 500) < 500:
            return False
        if record.levelno == logging.INFO and WEBSOCKET_CHATTER.match(record.getMessage()):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def logging_config(*, level: str, fmt: str, access_log: bool = False) -> dict:
    """The ``LOGGING`` setting: one console handler (stderr) in format ``fmt`` (``json`` or ``plain``),
    the root at ``level``; django-q2's logger at ``level`` too, so the cluster's schedule runs show.
    uvicorn's access lines only with ``access_log`` (they repeat ``orchestra.requests``' line); the
    console's filter ``ReadableConsole`` says what else it leaves out."""
    formatter = ({"()": "pythonjsonlogger.json.JsonFormatter",
                  "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s %(actor)s %(trace_id)s",
                  "rename_fields": {"levelname": "level", "name": "logger"}, "timestamp": True}
                 if fmt == "json" else
                 {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(actor)s] %(message)s"})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {"request_context": {"()": "orchestra_site.request_log.RequestContext"},
                    "readable": {"()": "orchestra_site.request_log.ReadableConsole"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "default",
                                 "filters": ["readable", "request_context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # django-q2 adds a handler of its own only when none is configured; with ours it follows the root.
            "django-q": {"level": level},
            # The runserver/uvicorn-independent request line is ours (orchestra.requests): no duplicate.
            "django.server": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},
            # django-axes: two INFO lines per successful sign-in; failures and lockouts are its WARNINGs
            "axes": {"level": "WARNING"},  # a line per webhook POST: orchestra.webhooks says it better
            # uvicorn's own lines, once Django is loaded in a worker, in the same format (its supervisor
            # process never loads Django: its few start/stop lines stay uvicorn's).
            "uvicorn": {"handlers": ["console"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["console"], "level": level if access_log else "WARNING",
                               "propagate": False},
        },
    }
