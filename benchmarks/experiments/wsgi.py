"""``orchestra_site.wsgi`` with the patches of ``ORCH_BENCH_PATCHES`` (see benchmarks.experiments)."""
import os

os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.experiments.settings"

from benchmarks.experiments.patches import apply  # noqa: E402
from orchestra_site.wsgi import application  # noqa: E402

apply()
__all__ = ["application"]
