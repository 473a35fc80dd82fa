"""Shared benchmark harness: a fresh PostgreSQL database, an Orchestra server on it, and small tools.

Every benchmark goes through ``Bench`` (a context manager):

- ``preflight()`` checks that PostgreSQL (``pg_isready -h 127.0.0.1``) and Redis (``redis-cli ping``)
  answer, and says what to do when they do not;
- ``setup()`` creates database ``orch_bench_<random>``, migrates it, creates the superuser ``benchadmin``,
  agents (``create_agent``), the admin's API token (``create_user_token``) and, if asked, reviewer users
  of the Platform inbox with ready-made login sessions (for WebSockets);
- ``start()`` runs ``uvicorn --workers N orchestra_site.asgi:application`` (or gunicorn + WSGI) in its
  own process group; ``stop()`` ends that group and drops the database, also on Ctrl-C / SIGTERM.

Also here: a tiny keep-alive HTTP/1.1 client on asyncio streams (cheap on the CPU, so the load generator
steals less from the server on this 2-core machine), per-process CPU accounting from ``/proc``,
percentiles, and a py-spy profile summariser.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
PG_HOST = "127.0.0.1"
PG_USER = "postgres"
REDIS_HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

PROPOSAL = {
    "action": "deploy.rollback",
    "resource": "service:payments",
    "args": {"service": "payments", "to_version": "2026.11.3"},
    "summary": "Roll back payments to 2026.11.3",
    "reasoning": "Error rate rose from 0.1% to 4% after the last deploy.",
    "risk": "high",
    "confidence": 0.82,
    "cost_usd": "0.40",
    "classification": "internal",
    "related_tasks": ["INC-1042"],
}


# --- command line -------------------------------------------------------------------------------------

def common_args(parser: argparse.ArgumentParser, *, workers: int = 2) -> argparse.ArgumentParser:
    g = parser.add_argument_group("server")
    g.add_argument("--workers", type=int, default=workers, help=f"server worker processes (default {workers})")
    g.add_argument("--redis-db", type=int, default=8, help="Redis database number for the server (default 8)")
    g.add_argument("--src", default="HEAD",
                   help="what to serve: 'HEAD' (default) = the last commit of this repository, exported to a "
                        "temporary directory (so half-done uncommitted edits do not break a run); or a "
                        "directory, e.g. '.' for the working tree as it is")
    g.add_argument("--keep", action="store_true", help="keep the database and the server log for inspection")
    g.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    return parser


def write_json(path: str | None, figures: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, default=str))


# --- preflight ----------------------------------------------------------------------------------------

def preflight() -> None:
    problems = []
    if shutil.which("pg_isready") is None or shutil.which("psql") is None:
        problems.append("PostgreSQL client tools missing: apt-get install -y postgresql-client")
    elif subprocess.run(["pg_isready", "-q", "-h", PG_HOST], check=False).returncode != 0:
        problems.append(f"PostgreSQL is not accepting connections on {PG_HOST}:5432 "
                        "(start it: `service postgresql start`; the harness connects as user postgres, trust auth)")
    try:
        with socket.create_connection((REDIS_HOST, 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as e:
        problems.append(f"Redis does not answer on {REDIS_HOST}:6379 ({e}); start it: `service redis-server start` "
                        "or `redis-server --daemonize yes`")
    if problems:
        sys.exit("benchmarks: cannot run:\n  - " + "\n  - ".join(problems))


# --- processes ----------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def children(pid: int) -> list[int]:
    out = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_seconds(pids) -> float:
    """User + system CPU seconds consumed so far by ``pids`` (their threads included)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / CLK_TCK


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class Bench:
    """A fresh database plus one Orchestra server. Use as ``with Bench(args) as b:``."""

    def __init__(self, args, *, server: str = "asgi", agents: int = 1, reviewers: int = 0,
                 workers: int | None = None):
        self.args = args
        self.server = server
        self.workers = workers or args.workers
        self.n_agents = agents
        self.n_reviewers = reviewers
        self.tmp = Path(tempfile.mkdtemp(prefix="orch-bench-"))
        self.src = self._source(args.src)
        self.db = "orch_bench_" + uuid.uuid4().hex[:10]
        self.env = dict(os.environ)
        for k in ("DJANGO_SETTINGS_MODULE", "DEBUG"):
            self.env.pop(k, None)
        self.env.update(
            DATABASE_URL=f"postgres://{PG_USER}@{PG_HOST}:5432/{self.db}",
            REDIS_URL=f"redis://{REDIS_HOST}:6379/{args.redis_db}",
            SECRET_KEY="bench-" + uuid.uuid4().hex,
            DJANGO_SUPERUSER_PASSWORD="bench-pass-123",
            LOG_LEVEL="WARNING",
        )
        self.proc = None
        self.db_created = False
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def _source(self, src: str) -> Path:
        if src != "HEAD":
            return Path(src).resolve()
        dest = self.tmp / "src"
        dest.mkdir()
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD"], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        return dest

    # -- lifecycle --
    def __enter__(self):
        self._old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self.setup()
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        signal.signal(signal.SIGTERM, self._old_term)

    def psql(self, sql: str, db: str = "postgres") -> str:
        out = subprocess.run(["psql", "-h", PG_HOST, "-U", PG_USER, "-d", db, "-XAtqc", sql],
                             capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def manage(self, *args: str, timeout: int = 300) -> str:
        out = subprocess.run([PY, "manage.py", *args], cwd=self.src, env=self.env, capture_output=True,
                             text=True, timeout=timeout, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args[:2])} failed: {out.stderr.strip()[-1500:]}")
        return out.stdout

    def setup(self):
        t0 = time.monotonic()
        self.psql(f"create database {self.db}")
        self.db_created = True
        self.manage("migrate", "--noinput")
        self.manage("createsuperuser", "--noinput", "--username", "benchadmin", "--email", "bench@example.com")
        self.agent_tokens = [last_line(self.manage("create_agent", "bench-agent-0", "--domain", "Platform"))]
        self.admin_token = last_line(self.manage("create_user_token", "benchadmin"))
        # Further agents, reviewers and their sessions in one Django start-up (create_agent is one per call).
        script = SETUP_SCRIPT % {"agents": self.n_agents - 1, "reviewers": self.n_reviewers}
        extra = json.loads(last_line(self.manage("shell", "-c", script)))
        self.agent_tokens += extra["agent_tokens"]
        self.sessions = extra["sessions"]
        self.reviewer_token = extra["reviewer_token"]
        self.inbox_id = extra["inbox_id"]
        print(f"[setup] database {self.db}: {len(self.agent_tokens)} agent(s), {len(self.sessions)} reviewer "
              f"session(s), Platform inbox #{self.inbox_id} ({time.monotonic() - t0:.1f} s)", flush=True)
        return self

    def start(self):
        self.log_path = self.tmp / f"server-{self.server}.log"
        log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self._log = log
        w = str(self.workers)
        if self.server == "asgi":
            cmd = [PY, "-m", "uvicorn", "orchestra_site.asgi:application", "--host", "127.0.0.1",
                   "--port", str(self.port), "--workers", w, "--log-level", "warning", "--no-access-log",
                   "--loop", "uvloop", "--http", "httptools"]
        elif self.server == "wsgi":
            cmd = [PY, "-m", "gunicorn", "orchestra_site.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
                   "--workers", w, "--worker-class", "sync", "--log-level", "warning", "--keep-alive", "75"]
        else:
            raise ValueError(self.server)
        self.proc = subprocess.Popen(cmd, cwd=self.src, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 40
        ready = 0
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError):
                status, _ = http_get_status(self.port, "/api/v1/proposals")
                ready = ready + 1 if status == 401 else 0
                if ready >= 2 * self.workers and len(self.worker_pids()) >= self.workers:
                    time.sleep(1.0)  # let every worker finish its start-up
                    print(f"[server] {self.server} with {w} worker(s) on {self.base} (workers {self.worker_pids()})",
                          flush=True)
                    return self
            time.sleep(0.2)
        raise RuntimeError("server did not start:\n" + self.log_path.read_text()[-1500:])

    def worker_pids(self) -> list[int]:
        if not self.proc:
            return []
        return [p for p in children(self.proc.pid) if "resource_tracker" not in cmdline(p)]

    def server_pids(self) -> list[int]:
        return [self.proc.pid, *self.worker_pids()] if self.proc else []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own process group (start_new_session)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if getattr(self, "_log", None):
            self._log.close()
        if self.db_created and not self.args.keep:
            with contextlib.suppress(Exception):
                self.psql(f"drop database if exists {self.db} with (force)")
            self.db_created = False
        if self.args.keep:
            print(f"[kept] database {self.db}, files in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def server_errors(self, n: int = 20) -> list[str]:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except (OSError, AttributeError):
            return []
        return [ln for ln in lines if "Error" in ln or "Traceback" in ln][-n:]


SETUP_SCRIPT = r'''
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from governance.models import Domain
from governance.services import domain_get_or_create
from governance.services import agent_create
from governance.tokens import user_token_create
domain = domain_get_or_create(name="Platform")
tokens = [agent_create(name=f"bench-agent-{i}", domain=domain)[1] for i in range(1, %(agents)d + 1)]
User = get_user_model()
group = Group.objects.get(name="Platform reviewers")  # granted view + decide on the Platform inbox
sessions = []
reviewer_token = None
for i in range(%(reviewers)d):
    u = User.objects.create_user(username=f"bench-reviewer-{i}", password=None)
    u.groups.add(group)
    s = SessionStore()
    s["_auth_user_id"] = str(u.pk)
    s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    s["_auth_user_hash"] = u.get_session_auth_hash()
    s.create()
    sessions.append(s.session_key)
    if reviewer_token is None:
        reviewer_token = user_token_create(user=u, name="bench")[1]
print(json.dumps({"agent_tokens": tokens, "sessions": sessions, "reviewer_token": reviewer_token,
                  "inbox_id": Domain.objects.get(name="Platform").default_inbox_id}))
'''


# --- a small HTTP/1.1 client --------------------------------------------------------------------------

def http_get_status(port: int, path: str) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1]), data


class Conn:
    """One keep-alive HTTP/1.1 connection (asyncio streams). Far cheaper per request than httpx."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def close(self):
        if self.writer:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    def encode(self, method: str, path: str, token: str | None = None, body: bytes | None = None,
               headers: dict | None = None) -> bytes:
        h = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
        if token:
            h.append(f"Authorization: Bearer {token}")
        for k, v in (headers or {}).items():
            h.append(f"{k}: {v}")
        if body is not None:
            h += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        return ("\r\n".join(h) + "\r\n\r\n").encode() + (body or b"")

    async def send_raw(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        close = b"connection: close" in lower
        if b"transfer-encoding: chunked" in lower:
            body = b""
            while True:
                size = int((await self.reader.readline()).strip().split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            i = lower.find(b"content-length:")
            n = int(lower[i + 15:lower.find(b"\r\n", i)]) if i >= 0 else 0
            body = await self.reader.readexactly(n) if n else b""
        if close:
            await self.close()
            self.writer = None
        return status, body

    async def request(self, method, path, token=None, body=None, headers=None) -> tuple[int, bytes]:
        return await self.send_raw(self.encode(method, path, token, body, headers))


# --- figures ------------------------------------------------------------------------------------------

def pct(values, p: float) -> float:
    """Percentile ``p`` (0–100) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


def latency_summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": round(pct(ms, 50), 2), "p90_ms": round(pct(ms, 90), 2),
            "p99_ms": round(pct(ms, 99), 2), "max_ms": round(max(ms), 2) if ms else float("nan")}


def table(rows: list[list], header: list[str]) -> str:
    cols = list(zip(header, *rows, strict=False))
    widths = [max(len(str(c)) for c in col) for col in cols]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *[line(r) for r in rows]])


# --- profiling ----------------------------------------------------------------------------------------

# Where the time goes, by the frames a sample's stack contains (a sample may count in several rows).
PROFILE_MARKERS = [
    ("bearer token lookup (token_authenticate)", "token_authenticate"),
    ("guardian / has_perm", "guardian"),
    ("auth has_perm (ModelBackend)", "has_perm"),
    ("ninja request parsing + pydantic validation", "_get_values"),
    ("ninja response validation/serialisation", "_result_to_response"),
    ("pydantic (any)", "pydantic"),
    ("proposal_submit", "proposal_submit"),
    ("proposal_decide", "proposal_decide"),
    ("routing.route (rules query)", "active_rules"),
    ("Proposal.save (INSERT/UPDATE)", "save_base"),
    ("simple_history post_save (history row)", "simple_history"),
    ("transaction commit + on_commit hooks", "run_and_clear_commit_hooks"),
    ("events.announce (total)", "announce"),
    ("events.pending_count query", "pending_count"),
    ("async_to_sync / group_send", "group_send"),
    ("asgiref sync<->async hops", "asgiref"),
    ("psycopg (all SQL execution)", "psycopg"),
    ("psycopg_pool getconn/putconn", "psycopg_pool"),
    ("Django ORM SQL compile", "as_sql"),
    ("middleware chain (django.middleware/contrib)", "middleware"),
    ("sessions middleware", "sessions"),
    ("uvicorn/httptools protocol", "httptools_impl"),
    ("websocket send (fan-out)", "websocket"),
    ("channels_redis", "channels_redis"),
    ("json encode/decode", "json/"),
    ("idle (waiting: select/epoll/lock)", "IDLE"),
]
IDLE_FUNCS = ("select (", "poll (", "wait (", "acquire (", "_worker (concurrent", "run_forever")


def py_spy_available() -> bool:
    return shutil.which("py-spy") is not None or (Path(PY).parent / "py-spy").exists()


def py_spy_record(pids: list[int], seconds: float, outdir: Path) -> list[subprocess.Popen]:
    """Start ``py-spy record`` (raw collapsed stacks, plus an SVG flame graph) on each pid; returns procs."""
    exe = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    procs = []
    for pid in pids:
        for fmt, ext in (("raw", "txt"),):
            out = outdir / f"profile-{pid}.{ext}"
            procs.append(subprocess.Popen(
                [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250", "--gil",
                 "--format", fmt, "--output", str(out), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    return procs


def summarize_profile(paths: list[Path], top: int = 25) -> str:
    """Share of on-CPU samples whose stack holds each marker, plus the top self-time functions."""
    incl = collections.Counter()
    self_t = collections.Counter()
    busy = idle = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if not n.isdigit():
                continue
            n = int(n)
            frames = stack.split(";")
            leaf = frames[-1] if frames else ""
            if any(leaf.startswith(f) for f in IDLE_FUNCS) or "process " in leaf and len(frames) < 3:
                idle += n
                continue
            busy += n
            self_t[leaf] += n
            for label, marker in PROFILE_MARKERS:
                if marker != "IDLE" and marker in stack:
                    incl[label] += n
    if not busy:
        return "(no samples: is py-spy allowed to ptrace? run as root or set kernel.yama.ptrace_scope=0)"
    out = [f"on-CPU samples: {busy} (idle/waiting samples left out: {idle})",
           "inclusive share of on-CPU samples, by what the stack contains:"]
    for label, _ in PROFILE_MARKERS:
        if incl[label]:
            out.append(f"  {100 * incl[label] / busy:5.1f}%  {label}")
    out.append(f"top {top} functions by self time:")
    for fn, n in self_t.most_common(top):
        out.append(f"  {100 * n / busy:5.1f}%  {fn[:150]}")
    return "\n".join(out)
