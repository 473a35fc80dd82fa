from django.contrib import admin
from django.urls import include, path, re_path

from .api import api_urls, route_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api_urls()),
    re_path(r"^api/", route_not_found),  # anything else under /api/: a JSON 404 in the error contract
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("incidents.urls")),
    path("", include("inbox.urls")),
]
