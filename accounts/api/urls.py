from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import jobs, views

router = SimpleRouter()
router.register("schools", views.OrganizationViewSet, basename="school")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh/", views.TokenRefreshRotatingView.as_view(), name="auth-token-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("me/", views.MeView.as_view(), name="me"),
    path("jobs/<int:pk>", jobs.JobView.as_view(), name="job-detail"),
    *router.urls,
]
