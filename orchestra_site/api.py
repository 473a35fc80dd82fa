"""The one NinjaAPI: routers of each app, and every error mapped to the one error body in one place.

Every error answer under ``/api/`` is JSON ``{"detail": str, "code": str, ...}``; a 422 also names
``field`` (the first offending JSON path, e.g. ``confidence`` or ``args.to_version``) and lists all
of them under ``errors``. Whatever raised it: a service (``ApplicationError``), the schema
(django-ninja's ``ValidationError``), an unparseable body, a bad token, an unknown id or route, a
wrong method, or a bug (500, logged like Django does).
"""
import logging
from json import JSONDecodeError

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import Http404, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from governance.api import router as governance_router
from governance.audit.api import router as audit_router
from inbox.api import router as inbox_router
from inbox.api_executions import router as inbox_executions_router
from inbox.api_governance import router as inbox_governance_router
from inbox.humanlayer.api import router as humanlayer_router
from incidents.api import router as incidents_router

from .errors import ApplicationError, RateLimited
from .schemas import INSIDE_PATH

logger = logging.getLogger("django.request")

api = NinjaAPI(
    title="Orchestra API",
    version="1",
    description=(
        "Agents propose actions; humans decide. Authenticate with `Authorization: Bearer <token>`.\n\n"
        "Every error is JSON `{\"detail\": str, \"code\": str}`; a 422 also names `field` (the first offending "
        "JSON path) and lists every offending field under `errors`. Unknown fields in a body are refused (422). "
        "Text containing a NUL character (U+0000) is refused with 422 naming the field, never stripped. "
        "Timestamps are UTC `2026-11-03T10:15:30.123456Z`; money is a decimal string with 2 to 4 decimals (`\"0.40\"`)."
    ),
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/v1/", inbox_router)
api.add_router("/v1/", inbox_executions_router)
api.add_router("/v1/audit/", audit_router)
api.add_router("/v1/governance/", governance_router)
api.add_router("/v1/governance/", inbox_governance_router)
api.add_router("/v1/", incidents_router)

STATUS_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}


def error_body(detail: str, code: str, **extra) -> dict:
    return {"detail": detail, "code": code, **extra}


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


def field_path(loc) -> str:
    """``("body", "payload", "args", "to_version")`` -> ``"args.to_version"``; ``("query", "limit")`` ->
    ``"limit"``; ``("query", "filters", "since")`` -> ``"since"``. The first item is where the value came
    from; a body's second is the view's parameter, and so is a query's when it is a schema of several."""
    parts = list(loc)
    source = parts.pop(0) if parts else "body"
    if (source == "body" and parts) or (source == "query" and len(parts) > 1):
        parts.pop(0)
    return ".".join(str(p) for p in parts) or source


def validation_errors(raw: list[dict]) -> list[dict]:
    """django-ninja's (pydantic's) error list as ``[{"field", "detail", "code"}]``."""
    out = []
    for err in raw:
        field = field_path(err.get("loc", ()))
        inside = (err.get("ctx") or {}).get(INSIDE_PATH)
        if inside:  # a string deep inside args: name it, e.g. args.to_version
            field = f"{field}.{inside}"
        message = str(err.get("msg", "Invalid value.")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            message = "unknown field (not part of this request's schema)"
        out.append({"field": field, "detail": f"{field}: {message}", "code": str(err.get("type", "invalid"))})
    return out


@api.exception_handler(ValidationError)
def schema_error(request, exc: ValidationError):
    errors = validation_errors(exc.errors) or [{"field": "body", "detail": "Invalid request.", "code": "invalid"}]
    first = errors[0]
    return api.create_response(
        request, error_body(first["detail"], "invalid", field=first["field"], errors=errors), status=422
    )


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    response = api.create_response(
        request, error_body("Missing, unknown or revoked bearer token.", "unauthenticated"), status=401
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    """django-ninja's own errors; the one it raises itself is 400 "Cannot parse request body"."""
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        cause, where = exc.__cause__, ""
        if isinstance(cause, JSONDecodeError):
            where = f": {cause.msg} (line {cause.lineno}, column {cause.colno})"
        return api.create_response(
            request, error_body(f"The request body is not valid JSON{where}.", "malformed_body", field="body"),
            status=400,
        )
    code = STATUS_CODES.get(exc.status_code, "error")
    return api.create_response(request, error_body(str(exc), code), status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, error_body("Not found.", "not_found"), status=404)


@api.exception_handler(RequestDataTooBig)
def too_large(request, exc):
    return api.create_response(request, error_body(str(exc), "too_large", field="body"), status=413)


@api.exception_handler(Exception)
def server_error(request, exc):
    """A bug: logged (and signalled) as Django logs an unhandled exception; the body keeps the contract."""
    got_request_exception.send(sender=None, request=request)
    logger.error("Internal Server Error: %s", request.path, exc_info=exc,
                 extra={"status_code": 500, "request": request})
    return api.create_response(request, error_body("Internal server error.", "server_error"), status=500)


# The HumanLayer-compatible API (``/humanlayer/v1``, ``inbox.humanlayer``): its own OpenAPI, the same
# error handlers, so its errors keep the one body too (the SDK raises with it).
humanlayer_api = NinjaAPI(
    title="Orchestra: HumanLayer-compatible API",
    version="humanlayer-v1",
    description="What the `humanlayer` Python SDK 0.7.9 calls, with an Orchestra agent token as "
                "`HUMANLAYER_API_KEY` (see the README and `inbox.humanlayer`).",
    urls_namespace="humanlayer",
    docs_url="/docs",
)
humanlayer_api.add_router("/", humanlayer_router)
for _exc_class, _handler in [(ApplicationError, application_error), (ValidationError, schema_error),
                             (AuthenticationError, authentication_error), (HttpError, http_error),
                             (Http404, not_found), (RequestDataTooBig, too_large), (Exception, server_error)]:
    humanlayer_api.add_exception_handler(_exc_class, _handler)


def route_not_found(request, *args, **kwargs):
    """Any path under ``/api/`` that is no route of the API (mounted after ``api.urls``)."""
    return JsonResponse(error_body(f"No API route {request.path}.", "not_found"), status=404)


def _json_405(response, method: str):
    if response.status_code == 405 and response.get("Content-Type", "").split(";")[0] != "application/json":
        allowed = response.get("Allow", "")
        body = JsonResponse(error_body(f"Method {method} not allowed here; use {allowed}.",
                                       "method_not_allowed"), status=405)
        body["Allow"] = allowed
        return body
    return response


def _json_method_errors(view):
    """django-ninja answers a wrong method with a plain-text 405; this answers it in the contract."""
    if iscoroutinefunction(view):
        async def wrapped(request, *args, **kwargs):
            return _json_405(await view(request, *args, **kwargs), request.method)
        markcoroutinefunction(wrapped)
    else:
        def wrapped(request, *args, **kwargs):
            return _json_405(view(request, *args, **kwargs), request.method)
    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)
    return wrapped


def api_urls():
    """``api.urls`` with every route's wrong-method answer in the error contract."""
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = _json_method_errors(pattern.callback)
    return patterns, app_name, namespace
