"""Apply the patches named in ``ORCH_BENCH_PATCHES`` (comma-separated); see ``benchmarks.experiments``."""
import os
import time

PATCHES = [p for p in os.environ.get("ORCH_BENCH_PATCHES", "").split(",") if p]
KNOWN = {"token_cache", "no_pending_count", "no_history", "no_whitenoise", "lean_middleware",
         "no_announce"}


def ttl_cache(fn, seconds=5.0):
    store = {}

    def wrapper(*args):
        hit = store.get(args)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        value = fn(*args)
        store[args] = (now + seconds, value)
        return value

    return wrapper


def settings_middleware(middleware: list[str]) -> list[str]:
    if "no_whitenoise" in PATCHES or "lean_middleware" in PATCHES:
        middleware = [m for m in middleware if "whitenoise" not in m]
    return middleware


def apply() -> None:
    unknown = set(PATCHES) - KNOWN
    if unknown:
        raise SystemExit(f"unknown patches: {', '.join(sorted(unknown))}")
    from inbox import auth, events, services

    if "token_cache" in PATCHES:
        cached = ttl_cache(services.token_authenticate)
        services.token_authenticate = auth.token_authenticate = cached
    if "no_pending_count" in PATCHES:
        events.pending_count = lambda inbox_id: 0
    if "no_history" in PATCHES:
        from django.db.models.signals import post_save

        from inbox.models import Proposal

        for receiver in list(post_save._live_receivers(Proposal)[0]):
            if getattr(receiver, "__self__", None).__class__.__name__ == "HistoricalRecords":
                post_save.disconnect(receiver, sender=Proposal)
    if "no_announce" in PATCHES:
        events.announce = lambda *a, **k: None
