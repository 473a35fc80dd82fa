"""/healthz and /readyz: no login, the process alone for liveness; the database, Redis and the channel
layer for readiness, each within a short timeout, 503 naming what failed. Dependencies are made to fail
for real: a database file that cannot be opened, a Redis port nobody listens on, a Redis that accepts
the connection and never answers."""
import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_login(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert "no-cache" in r["Cache-Control"]


def test_readyz_is_ready_when_every_dependency_answers(client):
    r = client.get("/readyz")
    body = r.json()
    assert r.status_code == 200, body
    assert body["status"] == "ok" and body["failed"] == []
    expected = {"database", "channel_layer"} | ({"redis"} if settings.REDIS_URL else set())
    assert set(body["checks"]) == expected
    assert all(check["ok"] and check["ms"] >= 0 for check in body["checks"].values())


def test_readyz_names_a_redis_nobody_listens_on(client, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        settings.REDIS_URL = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable" and body["failed"] == ["redis"]
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"]


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never answers (a hung dependency)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(server.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_readyz_gives_up_on_a_hung_redis_within_its_timeout(client, settings, silent_server):
    settings.REDIS_URL = f"redis://127.0.0.1:{silent_server}/0"
    settings.ORCHESTRA_READYZ_TIMEOUT = 0.5
    started = time.monotonic()
    r = client.get("/readyz")
    elapsed = time.monotonic() - started
    assert r.status_code == 503 and r.json()["failed"] == ["redis"]
    assert "Timeout" in r.json()["checks"]["redis"]["error"]
    assert elapsed < 2, elapsed


def _readyz_in_a_process(env: dict) -> tuple[int, dict]:
    """GET /readyz in a fresh process with ``env`` (its settings read at start), through Django's test client."""
    code = ("from django.test import Client; import json; r = Client().get('/readyz'); "
            "print(json.dumps({'status': r.status_code, 'body': r.json()}))")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=settings.BASE_DIR,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return answer["status"], answer["body"]


def test_readyz_names_a_database_that_cannot_be_opened(tmp_path):
    status, body = _readyz_in_a_process({"DATABASE_URL": f"sqlite:///{tmp_path}/missing-dir/db.sqlite3",
                                         "REDIS_URL": ""})
    assert status == 503 and body["failed"] == ["database"], body
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["channel_layer"]["ok"]


def test_readyz_names_the_channel_layer_when_its_redis_is_down(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    status, body = _readyz_in_a_process({"DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "REDIS_URL": dead})
    assert status == 503 and sorted(body["failed"]) == ["channel_layer", "redis"], body
    assert body["checks"]["database"]["ok"]
