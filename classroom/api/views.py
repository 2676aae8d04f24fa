"""People, courses, modules, items and enrolments: reads for everyone in scope, writes for staff.

Every queryset comes from classroom.selectors through ScopedViewMixin. Writes go through one service each
(classroom.services, accounts.services), the same ones Django admin uses, so both refuse the same things with the
same messages. Who may write (docs in classroom/README.md):

- administrators: courses, people and enrolments of their own organisation, and the content of its courses;
- teachers: modules and items of the classes they actively teach (another class is 404, like a missing one);
- students: nothing (403).

An id in a body that names something of another organisation is refused like a missing id (400 naming the field);
a path naming it is 404. Enrolments are never deleted: DELETE drops one (its row stays as the class's history).
"""

from datetime import datetime
from typing import Any, cast

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization, User
from accounts.permissions import IsAdminRole
from accounts.services import user_create, user_update
from classroom import selectors
from classroom.api.filters import CourseFilter, EnrollmentFilter, LearningItemFilter, UserFilter
from classroom.api.permissions import WritesClassContent, WritesForTheSchool
from classroom.api.scoping import ScopedViewMixin
from classroom.api.serializers import (
    CourseSerializer,
    CourseWriteSerializer,
    EnrollmentCreateSerializer,
    EnrollmentEndSerializer,
    EnrollmentSerializer,
    LearningItemSerializer,
    LearningItemWriteSerializer,
    ModuleSerializer,
    ModuleWriteSerializer,
    UserCreateSerializer,
    UserDetailSerializer,
    UserListSerializer,
    UserUpdateSerializer,
)
from classroom.models import Course, Enrollment, LearningItem, Module
from classroom.selectors import scoped_get_or_404
from classroom.services import (
    course_create,
    course_update,
    enrollment_end,
    enrollment_ensure,
    enrollment_result_set,
    enrollment_role_for,
    learning_item_create,
    learning_item_update,
    module_create,
    module_update,
)

WRITES = frozenset({"create", "partial_update", "destroy"})


def writer(request: Request) -> User:
    """The authenticated person writing (the write permissions let only members of an organisation through)."""
    return cast(User, request.user)


def writer_organization(request: Request) -> Organization:
    """The organisation written into: the writer's own (WritesForTheSchool requires one)."""
    return cast(Organization, writer(request).organization)


def with_prerequisites(items: QuerySet[LearningItem]) -> QuerySet[LearningItem]:
    """Items with the ids of their prerequisites, read in one more query for the whole page."""
    return items.prefetch_related(Prefetch("prerequisites", queryset=LearningItem.objects.only("id").order_by("id")))


def end_time(enrollment: Enrollment, given: datetime | None) -> datetime:
    """When an enrolment ends: the time given, else now (or its start, for one that has not begun yet)."""
    return given or max(timezone.now(), enrollment.enrolled_at)


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
        if self.action in WRITES:
            return [WritesForTheSchool()]
        return super().get_permissions()

    def get_serializer_class(self):
        return UserDetailSerializer if self.action == "retrieve" else UserListSerializer

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action in WRITES:
            person = writer(self.request)
            queryset = queryset.filter(organization_id=person.organization_id)
            if not person.is_superuser:
                # A school's administrator does not change the accounts of platform operators (Django admin's
                # users), even of their school: setting such a password would hand over the whole platform.
                queryset = queryset.filter(is_staff=False, is_superuser=False)
        return queryset

    @extend_schema(
        summary="Create a person in your school (administrators)",
        request=UserCreateSerializer,
        responses={201: UserListSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = UserCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        user = user_create(organization=writer_organization(request), **serializer.validated_data)
        return Response(UserListSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a person of your school (administrators)",
        request=UserUpdateSerializer,
        responses=UserListSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        serializer = UserUpdateSerializer(user, data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        password = changes.pop("password", None)
        user_update(user=user, data=changes, password=password)
        return Response(UserListSerializer(user).data)


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

    def get_permissions(self):
        if self.action in WRITES:
            return [WritesForTheSchool()]
        return super().get_permissions()

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action in WRITES:
            return queryset.filter(pk__in=selectors.editable_courses(self.request.user).values("pk"))
        return queryset

    def answer(self, course: Course, status_code: int = status.HTTP_200_OK) -> Response:
        """The course as the list shows it, with its counts."""
        counted = selectors.course_list_for(self.request.user).get(pk=course.pk)
        return Response(CourseSerializer(counted).data, status=status_code)

    @extend_schema(
        summary="Create a course in your school (administrators)",
        request=CourseWriteSerializer,
        responses={201: CourseSerializer},
    )
    def create(self, request: Request) -> Response:
        serializer = CourseWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        course = course_create(organization=writer_organization(request), **serializer.validated_data)
        return self.answer(course, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a course of your school (administrators)",
        request=CourseWriteSerializer,
        responses=CourseSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        course = self.get_object()
        serializer = CourseWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self.answer(course_update(course=course, data=serializer.validated_data))


class CourseChildMixin(ScopedViewMixin):
    """A list under /courses/{course_pk}/: the course must be visible (404 otherwise, as if it did not exist)."""

    # Who may add to the list (POST); the course must then be one whose content they may change.
    write_permission: type[BasePermission] = WritesForTheSchool

    def get_permissions(self):
        if self.request.method == "POST":
            return [self.write_permission()]
        return super().get_permissions()

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        course = scoped_get_or_404(selectors.visible_courses(self.request.user), self.kwargs["course_pk"])
        return self.filter_to_course(queryset, course.pk)

    def filter_to_course(self, queryset: QuerySet[Any], course_id: int) -> QuerySet[Any]:
        return queryset.filter(course_id=course_id)

    def course_to_change(self) -> Course:
        return cast(Course, scoped_get_or_404(selectors.editable_courses(self.request.user), self.kwargs["course_pk"]))


@extend_schema_view(
    get=extend_schema(summary="Enrolments of one course"),
    post=extend_schema(
        summary="Enrol a person in the course (administrators)",
        request=EnrollmentCreateSerializer,
        responses={200: EnrollmentSerializer, 201: EnrollmentSerializer},
    ),
)
class CourseEnrollmentListView(CourseChildMixin, generics.ListAPIView):
    """Enrolments of one course. Students see their own row and who teaches the class, never classmates.
    Administrators enrol people of the school (POST); enrolling someone already actively enrolled in the same
    role answers that enrolment with 200 (safe to resend), a new one with 201."""

    scope = staticmethod(selectors.visible_enrollments)
    serializer_class = EnrollmentSerializer
    filterset_class = EnrollmentFilter
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    ordering_fields = ["enrolled_at", "user__username", "status"]
    ordering = ["role", "user__username"]

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return super().refine(queryset).select_related("user")

    def post(self, request: Request, course_pk: str) -> Response:
        course = self.course_to_change()
        serializer = EnrollmentCreateSerializer(data=request.data, context={"request": request, "course": course})
        serializer.is_valid(raise_exception=True)
        person: User = serializer.validated_data["user"]
        enrollment, created = enrollment_ensure(
            user=person,
            course=course,
            role=serializer.validated_data.get("role") or enrollment_role_for(person),
            enrolled_at=serializer.validated_data.get("enrolled_at") or timezone.now(),
        )
        answer = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(EnrollmentSerializer(enrollment).data, status=answer)


@extend_schema_view(
    get=extend_schema(summary="Learning items of one course"),
    post=extend_schema(
        summary="Add a learning item to the course (its teachers, administrators)",
        request=LearningItemWriteSerializer,
        responses={201: LearningItemSerializer},
    ),
)
class CourseItemListView(CourseChildMixin, generics.ListAPIView):
    """Learning items of one course, in module order. Its teachers and the school's administrators add items
    (POST) to a module of the course."""

    scope = staticmethod(selectors.visible_items)
    serializer_class = LearningItemSerializer
    filterset_class = LearningItemFilter
    search_fields = ["title"]
    ordering_fields = ["due_at", "title", "module__position"]
    ordering = ["module__position", "position", "id"]
    write_permission = WritesClassContent

    def filter_to_course(self, queryset: QuerySet[Any], course_id: int) -> QuerySet[Any]:
        return with_prerequisites(queryset.filter(module__course_id=course_id).select_related("module"))

    def post(self, request: Request, course_pk: str) -> Response:
        course = self.course_to_change()
        serializer = LearningItemWriteSerializer(data=request.data, context={"request": request, "course": course})
        serializer.is_valid(raise_exception=True)
        item = learning_item_create(**serializer.validated_data)
        return Response(LearningItemSerializer(item).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    get=extend_schema(summary="Modules of one course"),
    post=extend_schema(
        summary="Add a module to the course (its teachers, administrators)",
        request=ModuleWriteSerializer,
        responses={201: ModuleSerializer},
    ),
)
class CourseModuleListView(CourseChildMixin, generics.ListAPIView):
    """Modules (units) of one course, in order. Its teachers and the school's administrators add modules (POST);
    without a position a module goes after the last one."""

    scope = staticmethod(selectors.visible_modules)
    serializer_class = ModuleSerializer
    search_fields = ["title"]
    ordering_fields = ["position", "title"]
    ordering = ["position"]
    write_permission = WritesClassContent

    def post(self, request: Request, course_pk: str) -> Response:
        course = self.course_to_change()
        serializer = ModuleWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        module = module_create(course=course, **serializer.validated_data)
        return Response(ModuleSerializer(module).data, status=status.HTTP_201_CREATED)


@extend_schema_view(retrieve=extend_schema(summary="One module you may see"))
class ModuleViewSet(ScopedViewMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A module; its course's teachers and the school's administrators change it."""

    scope = staticmethod(selectors.visible_modules)
    serializer_class = ModuleSerializer

    def get_permissions(self):
        if self.action in WRITES:
            return [WritesClassContent()]
        return super().get_permissions()

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action in WRITES:
            return queryset.filter(course__in=selectors.editable_courses(self.request.user))
        return queryset

    @extend_schema(
        summary="Change a module (its course's teachers, administrators)",
        request=ModuleWriteSerializer,
        responses=ModuleSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        module = cast(Module, self.get_object())
        serializer = ModuleWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(ModuleSerializer(module_update(module=module, data=serializer.validated_data)).data)


@extend_schema_view(retrieve=extend_schema(summary="One learning item you may see"))
class LearningItemViewSet(ScopedViewMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A learning item; its course's teachers and the school's administrators change it (within its course)."""

    scope = staticmethod(selectors.visible_items)
    serializer_class = LearningItemSerializer

    def get_permissions(self):
        if self.action in WRITES:
            return [WritesClassContent()]
        return super().get_permissions()

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = with_prerequisites(queryset.select_related("module__course"))
        if self.action in WRITES:
            return queryset.filter(module__course__in=selectors.editable_courses(self.request.user))
        return queryset

    @extend_schema(
        summary="Change a learning item (its course's teachers, administrators)",
        request=LearningItemWriteSerializer,
        responses=LearningItemSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        item = cast(LearningItem, self.get_object())
        context = {"request": request, "course": item.module.course}
        serializer = LearningItemWriteSerializer(data=request.data, partial=True, context=context)
        serializer.is_valid(raise_exception=True)
        return Response(LearningItemSerializer(learning_item_update(item=item, data=serializer.validated_data)).data)


@extend_schema_view(retrieve=extend_schema(summary="One enrolment you may see"))
class EnrollmentViewSet(ScopedViewMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """An enrolment. Administrators end it as dropped or completed (PATCH) or drop it (DELETE); the row stays."""

    scope = staticmethod(selectors.visible_enrollments)
    serializer_class = EnrollmentSerializer

    def get_permissions(self):
        if self.action in WRITES:
            return [WritesForTheSchool()]
        return super().get_permissions()

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = queryset.select_related("user")
        if self.action in WRITES:
            return queryset.filter(course__in=selectors.editable_courses(self.request.user))
        return queryset

    @extend_schema(
        summary="End an enrolment (dropped or completed) and/or record its final result (administrators)",
        request=EnrollmentEndSerializer,
        responses=EnrollmentSerializer,
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        enrollment = cast(Enrollment, self.get_object())
        serializer = EnrollmentEndSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with transaction.atomic():
            wanted = data.get("status")
            if wanted is not None and enrollment.status != wanted:  # ending it again the same way changes nothing
                ended_at = end_time(enrollment, data.get("ended_at"))
                enrollment_end(enrollment=enrollment, status=wanted, ended_at=ended_at)
            if "final_result" in data:
                enrollment_result_set(
                    enrollment=enrollment, final_result=data["final_result"], result_at=data.get("result_at")
                )
        return Response(EnrollmentSerializer(enrollment).data)

    @extend_schema(summary="Drop an enrolment (administrators); an ended one stays as it is", responses={204: None})
    def destroy(self, request: Request, pk: str) -> Response:
        enrollment = cast(Enrollment, self.get_object())
        if enrollment.status == Enrollment.Status.ACTIVE:
            enrollment_end(enrollment=enrollment, status=Enrollment.Status.DROPPED, ended_at=end_time(enrollment, None))
        return Response(status=status.HTTP_204_NO_CONTENT)
