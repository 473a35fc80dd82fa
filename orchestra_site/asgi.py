"""ASGI entry point: HTTP through Django, WebSockets through Channels (session-authenticated), and the
MCP server's streamable HTTP at ``/mcp`` (``inbox.mcp.http``: bearer-authenticated, in front of Django).

An open WebSocket counts as a listener of this process for ``inbox.watcher``, which brings changes
made in other processes to it when the channel layer is the per-process in-memory one. ASGI lifespan
events go to the MCP app, whose session manager runs for the life of the process.
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from inbox import watcher  # noqa: E402
from inbox.mcp.http import build_mcp_app, is_mcp_path  # noqa: E402
from inbox.ws_urls import websocket_urlpatterns  # noqa: E402
from incidents.ws_urls import websocket_urlpatterns as incident_websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + incident_websocket_urlpatterns))),
    }
)
mcp_app = build_mcp_app()


async def application(scope, receive, send):
    if scope["type"] == "lifespan" or (scope["type"] == "http" and is_mcp_path(scope["path"])):
        return await mcp_app(scope, receive, send)
    if scope["type"] == "websocket":
        async with watcher.listening():
            return await router(scope, receive, send)
    return await router(scope, receive, send)
