from django.urls import path

from analytics.api import aggregations, views
from analytics.api.catalogue import catalogue_urlpatterns

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events-ingest"),
    path("events/batch/", views.EventBatchIngestView.as_view(), name="events-ingest-batch"),
    # aggregation jobs (seed 004): rebuild the rollups of a range of days, and the recent rebuilds
    path("analytics/aggregations/", aggregations.AggregationsView.as_view(), name="analytics-aggregations"),
    # every metric of the catalogue (core.metrics), whichever app registered it
    *catalogue_urlpatterns(),
]
