from django.urls import path

from .consumers import InboxConsumer
from .consumers_alerts import AlertsConsumer

websocket_urlpatterns = [
    path("ws/inboxes/<int:inbox_id>/", InboxConsumer.as_asgi()),
    path("ws/alerts/", AlertsConsumer.as_asgi()),
]
