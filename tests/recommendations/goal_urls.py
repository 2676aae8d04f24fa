"""The project's URLs with the goals API under /api/v1/recommendations/, as config/urls.py will include it (until it
does, these tests route through here; afterwards the two are the same)."""

from django.urls import include, path

from config.urls import urlpatterns as project

urlpatterns = [path("api/v1/recommendations/", include("recommendations.api.goals")), *project]
