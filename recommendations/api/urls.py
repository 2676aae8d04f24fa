from django.urls import include, path

urlpatterns = [
    path("recommendations/", include("recommendations.api.goals")),
]
