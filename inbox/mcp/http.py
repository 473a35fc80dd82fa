"""The MCP server over streamable HTTP at ``/mcp``: an ASGI app that ``orchestra_site.asgi`` puts in front
of Django. Each request is authenticated by its bearer token like the REST API's
(``governance.tokens.token_authenticate``): 401 ``{"detail", "code": "unauthenticated"}`` without a
valid one, 403 ``agent_required`` for a reviewer's token. The tools then act as that agent.

Stateless (the SDK's ``stateless_http``): no MCP session lives in a worker's memory, so any worker of
any process answers any request. The SDK's session manager still has to run for the life of the
process: ``lifespan`` (ASGI lifespan events, which uvicorn sends) starts and stops it.
"""
import json

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.transport_security import TransportSecuritySettings

from governance.models import Agent
from governance.tokens import token_authenticate

from .tools import AGENT_SCOPE_KEY, build_server

MCP_PATH = "/mcp"


def is_mcp_path(path: str) -> bool:
    return path == MCP_PATH or path.startswith(MCP_PATH + "/")


async def _refuse(send, status: int, detail: str, code: str) -> None:
    headers = [(b"content-type", b"application/json")]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps({"detail": detail, "code": code}).encode()})


def _bearer(scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return ""


def build_mcp_app():
    """The ASGI app: authentication, then the SDK's streamable HTTP app (``/mcp``)."""
    inner = build_server().streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=True,
        max_request_body_size=settings.ORCHESTRA_MAX_BODY_BYTES,
        # Host/Origin checks guard cookie- or network-trusting endpoints against DNS rebinding; this one
        # trusts only the bearer token, which a rebinding page does not have.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )

    async def app(scope, receive, send):
        if scope["type"] == "http":
            principal = await sync_to_async(token_authenticate)(_bearer(scope))
            if principal is None:
                return await _refuse(send, 401, "Missing, unknown or revoked bearer token.", "unauthenticated")
            if not isinstance(principal, Agent):
                return await _refuse(send, 403, "The MCP server serves agents: use an agent's token.",
                                     "agent_required")
            scope = {**scope, AGENT_SCOPE_KEY: principal}
        return await inner(scope, receive, send)

    return app
