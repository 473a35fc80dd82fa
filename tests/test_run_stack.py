"""manage.py run_stack (what ./scripts/up runs): the Procfile's processes under honcho, as real
subprocesses on a throwaway SQLite database. Every process of a stack carries a marker variable in
its environment, so the tests find all of them in /proc (grandchildren and orphans included) and
check that none is left once run_stack has stopped."""
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = "ORCHESTRA_RUN_STACK_TEST"

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _marked(stack_id: str) -> dict[int, str]:
    """Live (not zombie) processes whose environment has MARKER=stack_id: pid -> command line."""
    needle = f"{MARKER}={stack_id}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z":
            found[int(entry.name)] = cmdline.strip()
    return found


def _wait_all_gone(stack_id: str, timeout: float = 5) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := _marked(stack_id)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('run_stack') / 'db.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    return url


class Stack:
    """``manage.py run_stack --no-fleet --port <free>`` in a session of its own (as a terminal would
    have it), its output in a file."""

    def __init__(self, database_url: str, tmp_path: Path, *, output_to_pipe: bool = False):
        self.id = uuid.uuid4().hex
        self.port = _free_port()
        self.log = tmp_path / "run_stack.log"
        self.pipe = None  # with output_to_pipe: the read end of run_stack's stdout (a terminal's stand-in)
        env = {**os.environ, "DATABASE_URL": database_url, MARKER: self.id, "PYTHONUNBUFFERED": "1"}
        env.pop("REDIS_URL", None)
        with self.log.open("wb") as log:
            out = log
            if output_to_pipe:
                self.pipe, out = os.pipe()  # 64 KiB of buffer: more than the start-up output
            self.proc = subprocess.Popen(
                [sys.executable, "manage.py", "run_stack", "--no-fleet", "--port", str(self.port)],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if output_to_pipe:
                os.close(out)

    def output(self) -> str:
        if self.pipe is not None:
            return "(output in a pipe)"
        return self.log.read_text(errors="replace")

    def wait_until_serving(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            assert self.proc.poll() is None, f"run_stack exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"no server on port {self.port}:\n{self.output()}"
            time.sleep(0.2)
        # the server answers; wait for the banner and for the task cluster's processes to be there
        while (self.pipe is None and "Orchestra is up at" not in self.output()) or not any(
                "qcluster" in cmd for cmd in _marked(self.id).values()):
            assert time.monotonic() < deadline, f"no banner or no qcluster:\n{self.output()}"
            time.sleep(0.2)

    def wait(self, timeout: float = 20) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"run_stack still running {timeout} s after the stop:\n{self.output()}")

    def kill_leftovers(self) -> None:
        for pid in _marked(self.id):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def make_stack(database_url, tmp_path):
    stacks = []

    def make(**kwargs) -> Stack:
        stacks.append(Stack(database_url, tmp_path, **kwargs))
        return stacks[-1]

    yield make
    for stack in stacks:
        if stack.proc.poll() is None:
            stack.proc.kill()
            stack.proc.wait()
        stack.kill_leftovers()
        if stack.pipe is not None:
            with contextlib.suppress(OSError):
                os.close(stack.pipe)


@pytest.fixture
def stack(make_stack):
    return make_stack()


def test_ctrl_c_stops_every_process(stack):
    stack.wait_until_serving()
    running = _marked(stack.id)
    assert any("uvicorn" in cmd for cmd in running.values()), running
    assert f"Orchestra is up at http://127.0.0.1:{stack.port}/" in stack.output()

    os.killpg(stack.proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the foreground group

    assert stack.wait() == 0, stack.output()
    assert _wait_all_gone(stack.id) == {}, stack.output()
    assert "all stopped." in stack.output()
    assert "SIGKILL" not in stack.output(), "every process should stop on SIGTERM, without being killed"


def test_sigterm_stops_every_process(stack):
    stack.wait_until_serving()

    stack.proc.send_signal(signal.SIGTERM)  # a service manager stopping run_stack alone

    assert stack.wait() == 0, stack.output()
    assert _wait_all_gone(stack.id) == {}, stack.output()
    assert "SIGKILL" not in stack.output()


def test_when_one_process_dies_the_others_are_stopped(stack):
    stack.wait_until_serving()
    server = [pid for pid, cmd in _marked(stack.id).items() if "uvicorn" in cmd]
    assert server

    for pid in server:
        os.kill(pid, signal.SIGKILL)

    assert stack.wait() == 1, stack.output()
    assert _wait_all_gone(stack.id) == {}, stack.output()
    assert "exited on its own" in stack.output()


def test_closing_the_terminal_stops_every_process(make_stack):
    stack = make_stack(output_to_pipe=True)
    stack.wait_until_serving()

    os.close(stack.pipe)  # the terminal is gone: writing to it fails from now on ...
    stack.pipe = None
    os.killpg(stack.proc.pid, signal.SIGHUP)  # ... and the foreground group gets SIGHUP

    stack.wait()
    assert _wait_all_gone(stack.id) == {}
