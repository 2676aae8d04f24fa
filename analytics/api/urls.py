from django.urls import path

from analytics.api import metrics, views

urlpatterns = [
    path("events/", views.EventIngestView.as_view(), name="events-ingest"),
    path("events/batch/", views.EventBatchIngestView.as_view(), name="events-ingest-batch"),
    path("analytics/trends/engagement", metrics.EngagementTrendView.as_view(), name="analytics-trends-engagement"),
    path("analytics/realtime", metrics.RealtimeView.as_view(), name="analytics-realtime"),
    path("analytics/overview", metrics.OverviewView.as_view(), name="analytics-overview"),
    path("analytics/dashboard", metrics.DashboardView.as_view(), name="analytics-dashboard"),
    path("analytics/summary", metrics.SummaryView.as_view(), name="analytics-summary"),
    path("analytics/trends/content", metrics.ContentTrendsView.as_view(), name="analytics-trends-content"),
    path("analytics/system-metrics", metrics.SystemMetricsView.as_view(), name="analytics-system-metrics"),
    path("analytics/learning/heatmap", metrics.LearningHeatmapView.as_view(), name="analytics-learning-heatmap"),
    path(
        "analytics/courses/<int:course_pk>/analytics",
        metrics.CourseAnalyticsView.as_view(),
        name="analytics-course-analytics",
    ),
    path("analytics/engagement-metrics", metrics.EngagementMetricsView.as_view(), name="analytics-engagement-metrics"),
    path("analytics/progress-tracking", metrics.ProgressTrackingView.as_view(), name="analytics-progress-tracking"),
    path("analytics/learning-progress", metrics.LearningProgressView.as_view(), name="analytics-learning-progress"),
    path(
        "analytics/users/<int:user_pk>/analytics", metrics.UserAnalyticsView.as_view(), name="analytics-user-analytics"
    ),
]
