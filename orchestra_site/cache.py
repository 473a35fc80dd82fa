"""Django's Redis cache backend with one Redis client per connection pool, not one per call.

``django.core.cache.backends.redis.RedisCacheClient.get_client`` builds a new ``redis.Redis`` for
every cache operation; redis-py's client set-up (its response-callback tables) then costs more CPU
than the round trip itself — it showed among the top self-time functions of the submission path,
which reads the governance version from the cache. A ``redis.Redis`` is thread-safe (it takes a
connection from its pool per command), so one per pool is kept and reused; pools are Django's own.
"""
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledClientRedisCacheClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        clients = self.__dict__.setdefault("_clients", {})
        client = clients.get(id(pool))
        if client is None:
            client = clients[id(pool)] = self._client(connection_pool=pool)
        return client


class PooledClientRedisCache(RedisCache):
    """``BACKEND = "orchestra_site.cache.PooledClientRedisCache"``: Django's ``RedisCache``, same
    options and behaviour, reusing its Redis clients."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
