"""People, courses, enrolments and items. Every queryset comes from classroom.selectors through ScopedViewMixin."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, viewsets

from accounts.permissions import IsAdminRole
from classroom import selectors
from classroom.api.filters import CourseFilter, EnrollmentFilter, LearningItemFilter, UserFilter
from classroom.api.scoping import ScopedViewMixin
from classroom.api.serializers import (
    CourseSerializer,
    EnrollmentSerializer,
    LearningItemSerializer,
    UserDetailSerializer,
    UserListSerializer,
)
from classroom.selectors import scoped_get_or_404


@extend_schema_view(
    list=extend_schema(summary="Search people (administrators)"),
    retrieve=extend_schema(summary="One person with role-specific figures (admin, self, or their teacher)"),
)
class UserViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    scope = staticmethod(selectors.visible_users)
    filterset_class = UserFilter
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering_fields = ["username", "last_name", "date_joined", "last_login"]
    ordering = ["username"]

    def get_permissions(self):
        # Searching the directory is for administrators; a single profile is decided by the scope (404 otherwise).
        if self.action == "list":
            return [IsAdminRole()]
        return super().get_permissions()

    def get_serializer_class(self):
        return UserDetailSerializer if self.action == "retrieve" else UserListSerializer


@extend_schema_view(
    list=extend_schema(summary="The courses you may see"),
    retrieve=extend_schema(summary="One course you may see"),
)
class CourseViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Courses (classes) the caller may see: all of the organisation for administrators, taught classes for
    teachers, attended classes for students."""

    scope = staticmethod(selectors.course_list_for)
    serializer_class = CourseSerializer
    filterset_class = CourseFilter
    search_fields = ["title", "code", "subject"]
    ordering_fields = ["code", "title", "start_date"]
    ordering = ["code"]


class CourseChildMixin(ScopedViewMixin):
    """A list under /courses/{course_pk}/: the course must be visible (404 otherwise, as if it did not exist)."""

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        course = scoped_get_or_404(selectors.visible_courses(self.request.user), self.kwargs["course_pk"])
        return self.filter_to_course(queryset, course.pk)

    def filter_to_course(self, queryset: QuerySet[Any], course_id: int) -> QuerySet[Any]:
        return queryset.filter(course_id=course_id)


@extend_schema(summary="Enrolments of one course")
class CourseEnrollmentListView(CourseChildMixin, generics.ListAPIView):
    """Enrolments of one course. Students see their own row and who teaches the class, never classmates."""

    scope = staticmethod(selectors.visible_enrollments)
    serializer_class = EnrollmentSerializer
    filterset_class = EnrollmentFilter
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    ordering_fields = ["enrolled_at", "user__username", "status"]
    ordering = ["role", "user__username"]

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().refine(queryset).select_related("user")


@extend_schema(summary="Learning items of one course")
class CourseItemListView(CourseChildMixin, generics.ListAPIView):
    """Learning items of one course, in module order."""

    scope = staticmethod(selectors.visible_items)
    serializer_class = LearningItemSerializer
    filterset_class = LearningItemFilter
    search_fields = ["title"]
    ordering_fields = ["due_at", "title", "module__position"]
    ordering = ["module__position", "position", "id"]

    def filter_to_course(self, queryset: QuerySet[Any], course_id: int) -> QuerySet[Any]:
        return queryset.filter(module__course_id=course_id).select_related("module")
