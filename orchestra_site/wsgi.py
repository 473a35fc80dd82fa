"""WSGI entry point, for serving plain HTTP (the API) by a WSGI server beside the ASGI one."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestra_site.settings")
application = get_wsgi_application()
