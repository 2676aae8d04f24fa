from django.urls import path
from rest_framework.routers import SimpleRouter

from classroom.api import roster, views

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")
router.register("courses", views.CourseViewSet, basename="course")
router.register("modules", views.ModuleViewSet, basename="module")
router.register("items", views.LearningItemViewSet, basename="item")
router.register("enrollments", views.EnrollmentViewSet, basename="enrollment")

urlpatterns = [
    *router.urls,
    path(
        "courses/<int:course_pk>/enrollments/",
        views.CourseEnrollmentListView.as_view(),
        name="course-enrollments",
    ),
    path("courses/<int:course_pk>/items/", views.CourseItemListView.as_view(), name="course-items"),
    path("rosters/import", roster.RosterImportView.as_view(), name="roster-import"),
    path("courses/<int:course_pk>/modules/", views.CourseModuleListView.as_view(), name="course-modules"),
]
