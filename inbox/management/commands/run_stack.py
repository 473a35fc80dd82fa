"""Run the whole stack in one terminal: the processes of the top-level ``Procfile`` (the ASGI server,
the django-q2 cluster and the demo fleet), supervised by honcho.

honcho's ``Manager`` does the supervising: each process in its own process group, output prefixed by
its name, Ctrl-C or SIGTERM stops them all (SIGTERM to each group, SIGKILL after honcho's 5 s), and
if one exits on its own the others are stopped. What is Orchestra's own stays here: the pre-flight
checks, the variables the Procfile reads (from this command's options), the banner with the URL
and the demo logins, printed once the server accepts connections, and two cases honcho leaves
open: SIGHUP (the terminal closed) stops the stack like SIGTERM, and if honcho itself fails (e.g.
our output went away) every process is killed rather than left running.

Exit status: 0 after Ctrl-C or SIGTERM; 1 when a process exited on its own or the server did not
come up.
"""
import contextlib
import datetime
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from honcho.environ import parse_procfile
from honcho.manager import SIGNALS, Manager
from honcho.printer import Message, Printer

from inbox.management.commands.seed_demo import DEMO_PASSWORD, USERS

NAME = "run_stack"  # the prefix of this command's own lines
SERVER_UP_TIMEOUT = 60  # seconds for the server to accept connections before everything is stopped
_STOP_STATUSES = {spec["rc"] for spec in SIGNALS.values()}  # what honcho reports after SIGINT/SIGTERM


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


def _hangup_as_sigterm(signum, frame) -> None:
    """SIGHUP (the terminal closed) stops the stack like SIGTERM. honcho's output readers are forked
    with this handler and ignore SIGTERM, so in them it does nothing: they keep reading until their
    process ends, as honcho needs."""
    os.kill(os.getpid(), signal.SIGTERM)


def stack_processes(*, fleet: bool) -> dict[str, str]:
    """The Procfile's process types to run, name -> shell command (``fleet`` only when asked).

    Raises CommandError when the Procfile is missing or lacks ``web`` or ``worker``."""
    path = settings.BASE_DIR / "Procfile"
    try:
        processes = dict(parse_procfile(path.read_text()).processes)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from exc
    wanted = ["web", "worker", *(["fleet"] if fleet else [])]
    missing = [name for name in wanted if name not in processes]
    if missing:
        raise CommandError(f"{path} has no {', '.join(missing)} process.")
    return {name: processes[name] for name in wanted}


def stack_env(*, host: str, port: int, workers: int, access_log: bool, base_url: str,
              fleet_rate: float) -> dict[str, str]:
    """The environment of every child: this one, plus what the Procfile reads, with this interpreter's
    directory first on PATH (so ``uvicorn`` and ``python`` are the ones of this virtualenv)."""
    env = dict(os.environ)
    bindir = os.path.dirname(sys.executable)
    env.update({
        "PATH": os.pathsep.join([bindir, env["PATH"]]) if env.get("PATH") else bindir,
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
        "UVICORN_HOST": host,
        "WEB_CONCURRENCY": str(workers),
        "UVICORN_ACCESS_LOG": "true" if access_log else "false",
        # the demo's console: the fleet's lines and refused requests, not every successful poll
        "ORCHESTRA_REQUEST_LOG": "all" if access_log else "refused",
        "ORCHESTRA_FLEET_URL": base_url,
        "ORCHESTRA_FLEET_RATE": f"{fleet_rate:g}",
    })
    return env


class Command(BaseCommand):
    help = ("Run Orchestra: uvicorn (ASGI: HTTP and WebSockets), the django-q2 cluster (webhooks) and the "
            "demo fleet, from the Procfile, supervised by honcho. Ctrl-C stops everything.")

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
        processes = stack_processes(fleet=not no_fleet)
        env = stack_env(host=host, port=port, workers=workers, access_log=access_log, base_url=base_url,
                        fleet_rate=fleet_rate)
        banner = self._banner(base_url, mode="production (Redis)" if settings.REDIS_URL else "embedded",
                              fleet=not no_fleet, fleet_rate=fleet_rate)
        connections.close_all()  # honcho forks a reader per process: no database connection to share
        # Every process of the stack starts now: the metrics files of earlier runs' processes go.
        for stale in Path(settings.PROMETHEUS_MULTIPROC_DIR).glob("*.db"):
            stale.unlink(missing_ok=True)

        printer = Printer(sys.stdout)
        manager = Manager(printer)
        for name, cmd in processes.items():
            manager.add_process(name, cmd, env=env, cwd=str(settings.BASE_DIR))
        printer.width = max(printer.width, len(NAME))

        self._failure: str | None = None
        done = threading.Event()
        watcher = threading.Thread(target=self._announce_when_up, name="run_stack-banner", daemon=True,
                                   args=(manager, url_host, port, banner, done))
        watcher.start()
        signal.signal(signal.SIGHUP, _hangup_as_sigterm)  # honcho handles SIGINT and SIGTERM only
        try:
            manager.loop()  # returns once every process has exited
        except BaseException:
            # honcho failed mid-way, e.g. our stdout went away (BrokenPipeError while printing): leave
            # nothing running. Printing is what may fail, so honcho's own notes go nowhere.
            printer.output = open(os.devnull, "w")  # noqa: SIM115 - for the rest of this process
            with contextlib.suppress(KeyError):  # a process that never reported its pid
                manager.kill()
            raise
        finally:
            done.set()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
        watcher.join(timeout=2)

        if self._failure is None and manager.returncode in _STOP_STATUSES:
            self._say(printer, "all stopped.")
            return
        self._say(printer, self._failure or "a process exited on its own (see above); all stopped.")
        raise SystemExit(1)

    # --- the banner, once the server is up -------------------------------------------------------------

    def _announce_when_up(self, manager: Manager, host: str, port: int, banner: list[str],
                          done: threading.Event) -> None:
        """In a thread: wait for the server to accept connections, then print the banner through the
        manager's event queue (in order with the processes' output). If it does not come up within
        SERVER_UP_TIMEOUT, SIGTERM ourselves so that honcho stops everything."""
        deadline = time.monotonic() + SERVER_UP_TIMEOUT
        while not done.is_set():
            if _accepts(host, port):
                for line in banner:
                    manager.events.put(self._message(line))
                return
            if time.monotonic() > deadline:
                self._failure = f"the server did not accept connections within {SERVER_UP_TIMEOUT} s."
                manager.events.put(self._message(self._failure + " Stopping everything."))
                os.kill(os.getpid(), signal.SIGTERM)
                return
            done.wait(0.2)

    @staticmethod
    def _message(line: str) -> Message:
        return Message(type="line", data=line + "\n", time=datetime.datetime.now(), name=NAME, colour=None)

    def _say(self, printer: Printer, line: str) -> None:
        with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
            printer.write(self._message(line))

    def _banner(self, base_url: str, *, mode: str, fleet: bool, fleet_rate: float) -> list[str]:
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
        return lines
