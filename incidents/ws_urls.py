from django.urls import path

from .consumers import BoardConsumer, WarRoomConsumer

websocket_urlpatterns = [
    path("ws/incidents/", BoardConsumer.as_asgi()),
    path("ws/incidents/<uuid:incident_id>/", WarRoomConsumer.as_asgi()),
]
