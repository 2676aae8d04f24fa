from django.urls import path

from live import api

# Under /api/v1/ (config/urls.py).
urlpatterns = [
    path("realtime/ticket", api.TicketView.as_view(), name="realtime-ticket"),
]
