"""The Integrations pages, under `integrations/` (config/urls.py). The callback's path is the one registered with
Google as the OAuth redirect URI (GOOGLE_REDIRECT_URI): do not move it without changing that too."""

from django.urls import path

from google_classroom import views

urlpatterns = [
    path("", views.integrations, name="integrations"),
    path("google-classroom/connect", views.connect, name="integrations-connect"),
    path("google-classroom/callback", views.callback, name="integrations-callback"),
    path("google-classroom/sync", views.sync, name="integrations-sync"),
    path("google-classroom/disconnect", views.disconnect, name="integrations-disconnect"),
    path(
        "google-classroom/courses/<str:google_course_id>/summary",
        views.summary,
        name="integrations-summary",
    ),
]
