"""Health endpoints for load balancers and orchestrators; no login, no session, no database write.

- ``GET /healthz`` (liveness): 200 ``{"status": "ok"}`` as long as the process answers. Touches nothing
  else, so a database outage never makes a supervisor restart healthy web workers.
- ``GET /readyz`` (readiness): the database (``SELECT 1``), Redis (``PING``, when ``REDIS_URL`` is set)
  and the channel layer (a ``group_send`` to a group nobody is in: nothing is stored) are checked at
  once, each within ``ORCHESTRA_READYZ_TIMEOUT`` seconds (default 1). 200 with each check's time in
  milliseconds, or 503 naming what failed and why: ``{"status": "unavailable", "failed": ["redis"],
  "checks": {"database": {"ok": true, "ms": 0.4}, "redis": {"ok": false, "error": "TimeoutError"}, …}}``.
"""
import asyncio
import time

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

READYZ_GROUP = "orchestra-readyz"


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()  # a pool thread: give the connection back (to the psycopg pool, if any)


async def check_database() -> None:
    # Not thread-sensitive: a hung database must not hold up the worker's one sync thread.
    await sync_to_async(_database, thread_sensitive=False)()


async def check_redis() -> None:
    import redis.asyncio as redis

    timeout = settings.ORCHESTRA_READYZ_TIMEOUT
    client = redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def check_channel_layer() -> None:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    await layer.group_send(READYZ_GROUP, {"type": "readyz"})


async def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), settings.ORCHESTRA_READYZ_TIMEOUT)
    except Exception as exc:  # any failure is an answer here: the check failed, and why
        error = type(exc).__name__ if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        return {"ok": False, "error": error[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def checks() -> dict:
    """Name -> check coroutine function, for this deployment's dependencies."""
    found = {"database": check_database, "channel_layer": check_channel_layer}
    if settings.REDIS_URL:
        found["redis"] = check_redis
    return found


@never_cache
async def readyz(request):
    named = checks()
    results = dict(zip(named, await asyncio.gather(*(_timed(c) for c in named.values())), strict=True))
    failed = [name for name, result in results.items() if not result["ok"]]
    status = 503 if failed else 200
    return JsonResponse({"status": "unavailable" if failed else "ok", "failed": failed, "checks": results},
                        status=status)
