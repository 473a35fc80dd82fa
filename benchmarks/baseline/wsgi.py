"""WSGI entry point of the baseline: ``gunicorn benchmarks.baseline.wsgi:application``."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.baseline.settings")
application = get_wsgi_application()
