"""Profiling: ``py-spy record`` on the server workers, and a summary of where the GIL-holding time goes."""
from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from pathlib import Path

PY = sys.executable

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
