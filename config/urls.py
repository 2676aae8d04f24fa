from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from analytics.prometheus import metrics
from core.views import health

handler404 = "core.views.not_found"
handler500 = "core.views.server_error"

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("classroom.api.urls")),
    path("", include("analytics.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("live.api_urls")),
    path("", include("risk.api.urls")),
    path("", include("reports.api.urls")),
    path("", include("recommendations.api.urls")),
    path("", include("google_classroom.api.urls")),
]

urlpatterns = [
    path("", include("classroom.urls")),
    path("", include("dashboards.urls")),
    path("", include("reports.urls")),
    path("integrations/", include("google_classroom.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("health", health, name="health"),
    path("metrics", metrics, name="metrics"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
