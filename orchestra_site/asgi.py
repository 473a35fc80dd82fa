"""ASGI entry point: HTTP through Django, WebSockets through Channels (session-authenticated).

An open WebSocket counts as a listener of this process for ``inbox.watcher``, which brings changes
made in other processes to it when the channel layer is the per-process in-memory one.
"""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from inbox import watcher  # noqa: E402
from inbox.ws_urls import websocket_urlpatterns  # noqa: E402
from incidents.ws_urls import websocket_urlpatterns as incident_websocket_urlpatterns  # noqa: E402

router = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns + incident_websocket_urlpatterns))),
    }
)


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        async with watcher.listening():
            return await router(scope, receive, send)
    return await router(scope, receive, send)
