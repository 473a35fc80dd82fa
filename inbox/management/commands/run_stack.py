"""Run the whole stack in one terminal: the ASGI server (uvicorn), the django-q2 cluster and the demo fleet.

Each runs as a child process in its own process group, with its output prefixed by its name.
Ctrl-C or SIGTERM stops them all (demo fleet first, so it revokes its tokens); if one of them
exits on its own, the others are stopped and this command exits with status 1.
"""
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from inbox.management.commands.seed_demo import DEMO_PASSWORD, USERS

GRACE_SECONDS = 15  # per child, after SIGTERM, before SIGKILL of its whole process group
try:
    _LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


def _die_with_parent():
    """In the child, before exec: get SIGTERM if the supervisor dies (Linux ``PR_SET_PDEATHSIG``),
    so even a ``kill -9`` of run_stack leaves no orphans."""
    if _LIBC is not None and sys.platform.startswith("linux"):
        _LIBC.prctl(1, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen | None = None
    reader: threading.Thread | None = field(default=None, repr=False)
    expected_exit: bool = False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104 - a comparison: where to reach a server bound to all interfaces
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = ("Run Orchestra: uvicorn (ASGI: HTTP and WebSockets), the django-q2 cluster (webhooks) and the "
            "demo fleet, supervised. Ctrl-C stops everything.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1,
                            help="uvicorn worker processes (more than 1 needs REDIS_URL: the in-memory channel "
                                 "layer is per process)")
        parser.add_argument("--no-fleet", action="store_true", help="Do not run the demo agents")
        parser.add_argument("--fleet-rate", type=float, default=0.2, help="Demo proposals per second, in total")
        parser.add_argument("--access-log", action="store_true", help="Log every HTTP request")

    def handle(self, *, host, port, workers, no_fleet, fleet_rate, access_log, **options):
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if workers > 1 and not settings.REDIS_URL:
            raise CommandError(
                "--workers > 1 needs REDIS_URL: without Redis, live updates and long-polls only reach "
                "clients of the same process. Set REDIS_URL or run one worker."
            )
        url_host = _url_host(host)
        base_url = f"http://{url_host}:{port}"
        if _accepts(url_host, port):
            raise CommandError(f"Something already listens on {url_host}:{port}; stop it or pass --port.")

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_signal: str | None = None
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        web = Child("web", [
            sys.executable, "-m", "uvicorn", "orchestra_site.asgi:application", "--host", host, "--port", str(port),
            "--lifespan", "off", "--timeout-graceful-shutdown", "5",
            *(["--workers", str(workers)] if workers > 1 else []),
            *([] if access_log else ["--no-access-log"]),
        ])
        worker = Child("worker", [*manage, "qcluster"])
        fleet = Child("fleet", [*manage, "run_demo_fleet", "--base-url", base_url, "--rate", str(fleet_rate)])
        children = [web, worker]

        status = 0
        try:
            self._start(web)
            self._start(worker)
            if not self._wait_for_server(web, url_host, port):
                status = 1
            else:
                self._banner(base_url, mode="production (Redis)" if settings.REDIS_URL else "embedded",
                             fleet=not no_fleet, fleet_rate=fleet_rate)
                if not no_fleet:
                    children.append(fleet)
                    self._start(fleet)
                status = self._supervise(children)
        finally:
            self._stop_all([fleet, web, worker])
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if status:
            raise SystemExit(status)
        self._say("run_stack", "all stopped.")

    # --- processes ----------------------------------------------------------------------------------

    def _start(self, child: Child) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        child.proc = subprocess.Popen(  # noqa: S603 - our own argv: this interpreter, manage.py, uvicorn
            child.argv, cwd=settings.BASE_DIR, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
            text=True, errors="replace", bufsize=1,
        )
        child.reader = threading.Thread(target=self._pump, args=(child,), daemon=True, name=f"out-{child.name}")
        child.reader.start()
        self._say("run_stack", f"started {child.name} (pid {child.proc.pid}): {' '.join(child.argv[1:4])} …")

    def _pump(self, child: Child) -> None:
        for line in child.proc.stdout:
            self._say(child.name, line.rstrip("\n"))

    def _say(self, name: str, line: str) -> None:
        with self._lock:
            sys.stdout.write(f"{name:>9} | {line}\n")
            sys.stdout.flush()

    def _on_signal(self, signum, frame) -> None:
        if self._stop.is_set():  # a second Ctrl-C: stop waiting politely
            self._stop_signal = "again"
            return
        self._stop_signal = signal.Signals(signum).name
        self._stop.set()

    def _wait_for_server(self, web: Child, host: str, port: int, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            if not web.running:
                self._say("run_stack", f"the server exited with status {web.proc.returncode} before it was up.")
                return False
            if _accepts(host, port):
                return True
            self._stop.wait(0.2)
        if not self._stop.is_set():
            self._say("run_stack", f"the server did not accept connections within {timeout:.0f} s.")
            return False
        return True

    def _supervise(self, children: list[Child]) -> int:
        """Block until a signal (returns 0) or until a child exits (returns 1)."""
        while not self._stop.wait(0.5):
            for child in children:
                if not child.running:
                    self._say("run_stack", f"{child.name} exited with status {child.proc.returncode}; "
                                           "stopping everything.")
                    return 1
        self._say("run_stack", f"{self._stop_signal}: stopping …")
        return 0

    def _stop_all(self, children: list[Child]) -> None:
        """SIGTERM each running child in turn (the fleet first), wait, then SIGKILL what is left of
        each child's process group, grandchildren included."""
        for child in children:
            if child.proc is None:
                continue
            if child.running:
                with contextlib.suppress(ProcessLookupError):
                    child.proc.send_signal(signal.SIGTERM)
                try:
                    child.proc.wait(timeout=GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self._say("run_stack", f"{child.name} did not stop within {GRACE_SECONDS} s; killing it.")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGKILL)  # leftovers in its group (e.g. q2 workers)
            child.proc.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)

    # --- output -------------------------------------------------------------------------------------

    def _banner(self, base_url: str, *, mode: str, fleet: bool, fleet_rate: float) -> None:
        usernames = [u[0] for u in USERS]
        existing = set(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
        reviewers = [u for u in usernames if u != "admin" and u in existing]
        lines = ["", f"Orchestra is up at {base_url}/  ({mode} mode)"]
        if reviewers:
            lines.append(f"  Logins:     {', '.join(reviewers)} (password '{DEMO_PASSWORD}')")
        if "admin" in existing:
            lines.append(f"  Admin:      {base_url}/admin/  (admin / '{DEMO_PASSWORD}')")
        lines.append(f"  API docs:   {base_url}/api/docs")
        if fleet:
            lines.append(f"  Demo fleet: 4 agents posting {fleet_rate:g} proposals/s; their decisions show below")
        lines += ["Ctrl-C stops everything.", ""]
        for line in lines:
            self._say("run_stack", line)
