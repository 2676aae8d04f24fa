from django.urls import path

from analytics.api import views
from analytics.api.catalogue import catalogue_urlpatterns

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events-ingest"),
    path("events/batch/", views.EventBatchIngestView.as_view(), name="events-ingest-batch"),
    # every metric of the catalogue (core.metrics), whichever app registered it
    *catalogue_urlpatterns(),
]
