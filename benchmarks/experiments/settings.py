"""Orchestra's settings with the middleware changes of ``ORCH_BENCH_PATCHES`` (see benchmarks.experiments)."""
from benchmarks.experiments.patches import PATCHES, settings_middleware
from orchestra_site.settings import *  # noqa: F403

MIDDLEWARE = settings_middleware(MIDDLEWARE)  # noqa: F405
if "lean_middleware" in PATCHES:
    MIDDLEWARE = [m for m in MIDDLEWARE if m.split(".")[-1] in (
        "SecurityMiddleware", "body_size_limit", "CommonMiddleware", "XFrameOptionsMiddleware")]
