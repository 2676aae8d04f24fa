from django.urls import path

from dashboards import api

# Under /api/v1/ with the other analytics reads (config/urls.py).
urlpatterns = [
    path("analytics/dashboards/micro", api.MicroDashboardView.as_view(), name="analytics-dashboard-micro"),
    path("analytics/dashboards/meso", api.MesoDashboardView.as_view(), name="analytics-dashboard-meso"),
    path("analytics/dashboards/macro", api.MacroDashboardView.as_view(), name="analytics-dashboard-macro"),
]
