"""For the modules that run inside the served tree's Django (``Bench.django_module``): start Django, report.

Such a module is run as ``python -m benchmarks.<...> ARGS`` with the server's environment (DATABASE_URL of
the benchmark database, REDIS_URL, SECRET_KEY; DJANGO_SETTINGS_MODULE unset, so Orchestra's settings).
It calls :func:`django_setup` before importing any model, and ends with :func:`emit` of its result.
"""
from __future__ import annotations

import json
import os
import sys


def django_setup() -> None:
    """Configure Django with ``orchestra_site.settings`` (unless DJANGO_SETTINGS_MODULE says otherwise)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra_site.settings")
    import django

    django.setup()


def emit(result: dict) -> None:
    """Print ``result`` as the last line of output, one JSON object (what ``Bench.django_module`` parses)."""
    sys.stdout.write(json.dumps(result, default=str) + "\n")
    sys.stdout.flush()
