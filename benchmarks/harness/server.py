"""The benchmark's server side: a fresh PostgreSQL database with an Orchestra server on it.

Every benchmark goes through ``Bench`` (a context manager):

- ``preflight()`` checks that PostgreSQL (``pg_isready -h 127.0.0.1``) and Redis (``127.0.0.1:6379``)
  answer, and says what to do when they do not;
- ``setup()`` creates database ``orch_bench_<random>``, migrates it, creates the superuser ``benchadmin``,
  an agent (``create_agent``), the admin's API token (``create_user_token``) and, in one Django start-up
  (``python -m benchmarks.harness.seed``), further agents and reviewer users of the Platform inbox with
  ready-made login sessions (for WebSockets);
- ``start()`` runs ``uvicorn --workers N orchestra_site.asgi:application`` (or gunicorn + WSGI) in its
  own process group; ``stop()`` ends that group and drops the database, also on Ctrl-C / SIGTERM.

Django-side code (``seed`` and the governance benchmark's data and timings) runs through
``Bench.django_module``: ``python -m <module>`` in the served source tree, with the server's environment.
"""
from __future__ import annotations

import argparse
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

from benchmarks.harness.client import http_get_status

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
PG_HOST = "127.0.0.1"
PG_USER = "postgres"
REDIS_HOST = "127.0.0.1"


# --- command line -------------------------------------------------------------------------------------

def common_args(parser: argparse.ArgumentParser, *, workers: int = 2) -> argparse.ArgumentParser:
    g = parser.add_argument_group("server")
    g.add_argument("--workers", type=int, default=workers, help=f"server worker processes (default {workers})")
    g.add_argument("--redis-db", type=int, default=8, help="Redis database number for the server (default 8)")
    g.add_argument("--db-prefix", default="orch_bench_",
                   help="prefix of the benchmark's fresh database names (default orch_bench_)")
    g.add_argument("--src", default="HEAD",
                   help="what to serve: 'HEAD' (default) = the last commit of this repository, exported to a "
                        "temporary directory (so half-done uncommitted edits do not break a run); or a "
                        "directory, e.g. '.' for the working tree as it is")
    g.add_argument("--keep", action="store_true", help="keep the database and the server log for inspection")
    g.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    return parser


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


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class Bench:
    """A fresh database plus one Orchestra server. Use as ``with Bench(args) as b:``."""

    def __init__(self, args, *, server: str = "asgi", agents: int = 1, reviewers: int = 0,
                 workers: int | None = None, baseline: bool = False, preload: int = 0, preload_pending: int = 0):
        self.args = args
        self.server = server
        self.baseline = baseline  # serve benchmarks.baseline (bare Django-ninja), not Orchestra
        self.preload, self.preload_pending = preload, min(preload, preload_pending)
        self.workers = workers or args.workers
        self.n_agents = agents
        self.n_reviewers = reviewers
        self.tmp = Path(tempfile.mkdtemp(prefix="orch-bench-"))
        self.src = self._source(args.src)
        self.db = getattr(args, "db_prefix", "orch_bench_") + uuid.uuid4().hex[:10]
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
        if baseline:
            self.env["DJANGO_SETTINGS_MODULE"] = "benchmarks.baseline.settings"
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

    def django_module(self, module: str, *args: str, timeout: int = 300) -> dict:
        """Run ``python -m module *args`` in the served tree with the server's environment (its database);
        the module prints its result as one JSON line last, returned parsed."""
        out = subprocess.run([PY, "-m", module, *args], cwd=self.src, env=self.env, capture_output=True,
                             text=True, timeout=timeout, check=False)
        if out.returncode != 0:
            raise RuntimeError(f"python -m {module} failed: {out.stderr.strip()[-1500:]}")
        return json.loads(last_line(out.stdout))

    def setup(self):
        t0 = time.monotonic()
        self.psql(f"create database {self.db}")
        self.db_created = True
        if self.baseline:
            self.agent_tokens = ["bare_" + uuid.uuid4().hex for _ in range(self.n_agents)]
            self.django_module("benchmarks.baseline.seed", *self.agent_tokens)
            self.sessions, self.reviewer_token, self.inbox_id = [], None, None
            print(f"[setup] database {self.db}: bare Django-ninja baseline, {self.n_agents} token(s) "
                  f"({time.monotonic() - t0:.1f} s)", flush=True)
            return self
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")  # production mode serves hashed static names (pages need them)
        self.manage("createsuperuser", "--noinput", "--username", "benchadmin", "--email", "bench@example.com")
        self.agent_tokens = [last_line(self.manage("create_agent", "bench-agent-0", "--domain", "Platform"))]
        self.admin_token = last_line(self.manage("create_user_token", "benchadmin"))
        # Further agents, reviewers and their sessions in one Django start-up (create_agent is one per call).
        extra = self.django_module("benchmarks.harness.seed", "--agents", str(self.n_agents - 1),
                                   "--reviewers", str(self.n_reviewers))
        self.agent_tokens += extra["agent_tokens"]
        self.sessions = extra["sessions"]
        self.reviewer_token = extra["reviewer_token"]
        self.inbox_id = extra["inbox_id"]
        print(f"[setup] database {self.db}: {len(self.agent_tokens)} agent(s), {len(self.sessions)} reviewer "
              f"session(s), Platform inbox #{self.inbox_id} ({time.monotonic() - t0:.1f} s)", flush=True)
        if self.preload:
            self.preload_proposals()
        return self

    def preload_proposals(self):
        """Store ``preload`` proposals of bench-agent-0 in the Platform inbox with SQL (one history row
        each): ``preload_pending`` pending (the newest), the others approved a day ago; on 5,000 other
        resources, so the benchmark's own conflicts are unchanged. Then ANALYZE."""
        t0 = time.monotonic()
        n, pending = self.preload, self.preload_pending
        agent = self.psql("select id from governance_agent where name = 'bench-agent-0'", self.db)
        self.psql(f"""
            insert into inbox_proposal (id, kind, action, resource, args, summary, reasoning, risk, confidence,
              cost_usd, classification, related_tasks, callback_url, request_hash, status, category, level,
              routing_reason, quorum, is_frozen, decided_at, decision_comment, final_args, approval_digest, workflow,
              trace_id, allowed_verdicts, batch, channel_spec, response_options, link_kind, created_at, updated_at,
              agent_id, inbox_id)
            select gen_random_uuid(), 'action', 'deploy.rollback', 'service:preload-' || (g % 5000),
              '{{"service": "x"}}'::jsonb, 'preloaded proposal ' || g, 'bulk', 'low', 0.9, 0.10, 'internal',
              '[]'::jsonb, '', md5(g::text), case when g <= {pending} then 'pending' else 'approved' end, '',
              'agent', 'preloaded', 1, false, case when g <= {pending} then null else now() - interval '1 day' end,
              '', null, '', '', '', '[]'::jsonb, '', '{{}}'::jsonb, '[]'::jsonb, '',
              now() - make_interval(secs => g), now() - make_interval(secs => g), {agent}, {self.inbox_id}
            from generate_series(1, {n}) g""", self.db)
        cols = ("id, kind, action, resource, args, summary, reasoning, risk, confidence, cost_usd, classification, "
                "related_tasks, callback_url, expires_at, idempotency_key, status, category, level, policy_version, "
                "routing_reason, quorum, sla_due_at, is_frozen, decided_at, decision_comment, final_args, "
                "approval_digest, approval_expires_at, workflow, response_options, channel_spec, trace_id, "
                "allowed_verdicts, args_schema, batch, created_at, agent_id, inbox_id, policy_id, decided_by_id, "
                "link_kind")
        self.psql(f"insert into inbox_historicalproposal ({cols}, history_date, history_type, history_change_reason) "
                  f"select {cols}, created_at, '+', 'preloaded' from inbox_proposal where summary like 'preloaded%'",
                  self.db)
        self.psql("analyze", self.db)
        print(f"[setup] preloaded {n:,} proposals ({pending:,} pending) with their history rows "
              f"({time.monotonic() - t0:.1f} s)", flush=True)

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
            app = "benchmarks.baseline.wsgi:application" if self.baseline else "orchestra_site.wsgi:application"
            cmd = [PY, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{self.port}",
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
