from django.urls import path

from reports.api import schedules, views

urlpatterns = [
    path("reports/datasets", views.DatasetListView.as_view(), name="report-datasets"),
    path("reports", views.DefinitionListView.as_view(), name="reports"),
    path("reports/preview", views.PreviewView.as_view(), name="report-preview"),
    path("reports/import", views.ImportView.as_view(), name="report-import"),
    path("reports/<int:pk>", views.DefinitionDetailView.as_view(), name="report-detail"),
    path("reports/<int:pk>/versions", views.VersionListView.as_view(), name="report-versions"),
    path("reports/<int:pk>/document", views.DocumentView.as_view(), name="report-document"),
    path("reports/<int:pk>/preview", views.DefinitionPreviewView.as_view(), name="report-definition-preview"),
    path("reports/<int:pk>/export", views.ExportView.as_view(), name="report-export"),
    path("reports/<int:pk>/generate", views.GenerateView.as_view(), name="report-generate"),
    path("reports/<int:pk>/runs", views.RunListView.as_view(), name="report-runs"),
    path("reports/runs/<int:pk>", views.RunDetailView.as_view(), name="report-run"),
    path("reports/runs/<int:pk>/download", views.RunDownloadView.as_view(), name="report-run-download"),
    path("reports/<int:pk>/schedules", schedules.ScheduleListView.as_view(), name="report-schedules"),
    path("reports/schedules/<int:pk>", schedules.ScheduleDetailView.as_view(), name="report-schedule"),
    # seed 004's status URL for a run's job (the same answer as /api/v1/jobs/{id})
    path("reports/status/<int:job_id>", views.RunStatusView.as_view(), name="report-status"),
]
