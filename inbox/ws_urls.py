from django.urls import path

from .consumers import InboxConsumer

websocket_urlpatterns = [
    path("ws/inboxes/<int:inbox_id>/", InboxConsumer.as_asgi()),
]
