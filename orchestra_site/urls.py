from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from .api import api_urls, humanlayer_api, route_not_found
from .health import healthz, readyz
from .metrics import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    # Browsers ask for /favicon.ico on pages that do not link an icon (admin, API docs).
    path("favicon.ico", RedirectView.as_view(url=f"/{settings.STATIC_URL.strip('/')}/favicon.svg", permanent=True)),
    path("admin/", admin.site.urls),
    path("api/", api_urls()),
    re_path(r"^api/", route_not_found),  # anything else under /api/: a JSON 404 in the error contract
    path("humanlayer/v1/", humanlayer_api.urls),  # the humanlayer SDK's cloud API (inbox.humanlayer)
    re_path(r"^humanlayer/", route_not_found),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("incidents.urls")),
    path("", include("inbox.urls")),
]
