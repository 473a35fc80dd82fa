"""The one NinjaAPI: routers of each app, and application errors mapped to HTTP in one place."""
from django.core.exceptions import RequestDataTooBig
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from governance.api import router as governance_router
from inbox.api import router as inbox_router
from inbox.api_governance import router as inbox_governance_router

from .errors import ApplicationError, RateLimited

api = NinjaAPI(
    title="Orchestra API",
    version="1",
    description="Agents propose actions; humans decide. Authenticate with `Authorization: Bearer <token>`.",
    urls_namespace="api",
    docs_url="/docs",
)
api.add_router("/v1/", inbox_router)
api.add_router("/v1/governance/", governance_router)
api.add_router("/v1/governance/", inbox_governance_router)


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    response = api.create_response(
        request, {"detail": "Missing, unknown or revoked bearer token.", "code": "unauthenticated"}, status=401
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(RequestDataTooBig)
def too_large(request, exc):
    return api.create_response(request, {"detail": str(exc), "code": "too_large", "field": "body"}, status=413)
