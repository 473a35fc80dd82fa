"""Settings for the test suite (pyproject's ``DJANGO_SETTINGS_MODULE``): the real settings, run on
whatever ``DATABASE_URL`` / ``REDIS_URL`` the environment gives, minus what production mode would impose
on a laptop's test run: a fixed throwaway ``SECRET_KEY``, plain HTTP, plain logs and static files
found in place (no ``collectstatic``), metrics files in a fresh temporary directory. They are set as environment
defaults (an explicit value still wins) so that the servers and clusters tests start as subprocesses
(``manage.py``, uvicorn) get them too."""
import os
import tempfile

for name, value in {
    "SECRET_KEY": "tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "LOG_FORMAT": "plain",
    "ORCHESTRA_STATIC_MANIFEST": "false",  # no collectstatic before a test run
    # Each run's metrics files (this process and the servers it starts) in a directory of their own.
    "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR")
                                or tempfile.mkdtemp(prefix="orchestra-test-metrics-"),
}.items():
    os.environ.setdefault(name, value)

from .settings import *  # noqa: E402, F403
