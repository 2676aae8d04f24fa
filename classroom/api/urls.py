from django.urls import path
from rest_framework.routers import SimpleRouter

from classroom.api import views

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("courses", views.CourseViewSet, basename="course")

urlpatterns = [
    *router.urls,
    path(
        "courses/<int:course_pk>/enrollments/",
        views.CourseEnrollmentListView.as_view(),
        name="course-enrollments",
    ),
    path("courses/<int:course_pk>/items/", views.CourseItemListView.as_view(), name="course-items"),
]
