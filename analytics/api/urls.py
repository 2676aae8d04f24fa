from django.urls import path

from analytics.api import views

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events-ingest"),
    path("events/batch/", views.EventBatchIngestView.as_view(), name="events-ingest-batch"),
]
