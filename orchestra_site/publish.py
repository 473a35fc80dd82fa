"""``group_send`` for sync code, without an event loop and a Redis connection per call.

Channels' layers are async; ``async_to_sync(layer.group_send)`` in a sync worker starts an event loop
per call, and ``channels_redis.pubsub.RedisPubSubChannelLayer`` keeps one Redis client per event
loop: every call so opened a new Redis connection (client set-up, ``importlib.metadata`` look-ups and
a TCP handshake per request: a fifth of the submission path's CPU in the profile).

The pub/sub layer's ``group_send`` is one ``PUBLISH`` of the layer's own encoding of the message
(``layer.serialize``) on the channel ``<prefix>__group__<group>`` of the shard the group hashes to.
That is done here with one process-wide sync Redis client per shard (redis-py's connection pool:
thread-safe, re-created after a fork), so the subscribers (WebSocket consumers, long-polls in the
ASGI workers) receive exactly what the layer would have sent. Any other layer (the in-memory one)
is called through ``async_to_sync`` as before.
"""
import os
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"
_lock = threading.Lock()
_publishers: dict = {}  # (alias, pid) -> _Publisher | None (None: not the pub/sub layer)


class _Publisher:
    """PUBLISH to the pub/sub layer's group channels with pooled sync clients (one per shard)."""

    def __init__(self, layer, config: dict):
        import redis
        from channels_redis.utils import _consistent_hash, decode_hosts

        self.layer, self.prefix, self._hash = layer, config.get("prefix", "asgi"), _consistent_hash
        self.clients = []
        for host in decode_hosts(config.get("hosts")):
            host = dict(host)
            address = host.pop("address", None)
            host.pop("master_name", None)
            self.clients.append(redis.Redis.from_url(address, **host) if address else redis.Redis(**host))

    def group_send(self, group: str, message: dict) -> None:
        channel = f"{self.prefix}__group__{group}"
        client = self.clients[self._hash(channel, len(self.clients))]
        client.publish(channel, self.layer.serialize(message))


def _publisher(alias: str):
    key = (alias, os.getpid())
    try:
        return _publishers[key]
    except KeyError:
        pass
    with _lock:
        if key not in _publishers:
            conf = getattr(settings, "CHANNEL_LAYERS", {}).get(alias, {})
            layer = get_channel_layer(alias)
            sentinel = "master_name" in str(conf.get("CONFIG", {}).get("hosts"))
            pubsub = conf.get("BACKEND") == PUBSUB_LAYER and layer is not None and not sentinel
            _publishers[key] = _Publisher(layer, conf.get("CONFIG", {})) if pubsub else None
    return _publishers[key]


def group_send(group: str, message: dict, *, alias: str = "default") -> None:
    """Send ``message`` (a dict with ``type``) to every member of Channels group ``group``, from sync
    code: one Redis ``PUBLISH`` on the pub/sub layer, else ``async_to_sync(layer.group_send)``.
    Nothing happens without a channel layer. Raises what the layer or Redis raises."""
    publisher = _publisher(alias)
    if publisher is not None:
        publisher.group_send(group, message)
        return
    layer = get_channel_layer(alias)
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def reset() -> None:
    """Forget the publishers (tests that change ``CHANNEL_LAYERS``)."""
    with _lock:
        _publishers.clear()


@receiver(setting_changed)
def _layers_changed(setting, **_) -> None:
    if setting == "CHANNEL_LAYERS":
        reset()
