from django.urls import path

from risk.api import views

urlpatterns = [
    path("risk/models", views.ModelListView.as_view(), name="risk-models"),
    path("risk/models/train", views.ModelTrainView.as_view(), name="risk-model-train"),
    path("risk/models/<int:pk>", views.ModelDetailView.as_view(), name="risk-model-detail"),
    path("risk/students/<int:pk>", views.StudentRiskView.as_view(), name="risk-student"),
    path("risk/alerts", views.AlertListView.as_view(), name="risk-alerts"),
    path("risk/alerts/<int:pk>", views.AlertDetailView.as_view(), name="risk-alert-detail"),
    path("risk/alerts/<int:pk>/acknowledge", views.AlertAcknowledgeView.as_view(), name="risk-alert-acknowledge"),
    path("risk/alerts/<int:pk>/resolve", views.AlertResolveView.as_view(), name="risk-alert-resolve"),
    path("risk/feedback", views.FeedbackView.as_view(), name="risk-feedback"),
    path("risk/interventions", views.InterventionView.as_view(), name="risk-interventions"),
    path("risk/reengagement", views.ReengagementView.as_view(), name="risk-reengagement"),
    # seed 000's name for the alert list (docs/api-map.md)
    path("realtime-analytics/predictive-alerts", views.PredictiveAlertsView.as_view(), name="predictive-alerts"),
]
