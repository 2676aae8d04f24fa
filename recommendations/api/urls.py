from django.urls import include, path

from recommendations.api import views

urlpatterns = [
    *views.urlpatterns,
    path("recommendations/", include("recommendations.api.goals")),
]
