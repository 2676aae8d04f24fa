"""Learning paths and goals over the API (included under /api/v1/recommendations/): a student's own goals (set,
change, cancel) and path progress; staff read those of a student in their scope with `?student=` (a teacher: what
concerns the classes they teach, as on the student's progress page). Someone else's goal, or a student outside the
requester's scope, is answered 404 as if it did not exist."""

from datetime import datetime
from typing import Annotated, Any, TypedDict, cast

from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from classroom.selectors import courses_in_common, scoped_get_or_404, sees_whole_student, student_in_scope
from core.params import MAX_ID, NoQuery, query_of
from core.schema import answer_type
from core.serializers import ChoiceField, StrictSerializer
from recommendations.api.views import StudentQuery
from recommendations.goals import (
    MAX_ACTIVE_GOALS,
    UNSET,
    GoalOut,
    goal_cancel,
    goal_create,
    goal_out,
    goal_update,
    goals_for_student,
)
from recommendations.models import Goal
from recommendations.paths import PathProgressOut, paths_for_student

MAX_TARGET = 2**31 - 1  # the column's bound; each kind's own range is checked by recommendations.goals


# SECTION: bodies and query strings


class GoalIn(StrictSerializer):
    """A goal to set for yourself. `path` for kind path; `course` and `due_date` for course_completion (`target`:
    percent of its items, 1 to 100, default 100); `target` for weekly_minutes (10 to 3000) and weekly_xp (10 to
    100000)."""

    kind = ChoiceField(choices=Goal.Kind.choices)
    path = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="A learning path of your classes."
    )
    course = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, help_text="A class you are enrolled in."
    )
    target = serializers.IntegerField(
        min_value=0, max_value=MAX_TARGET, required=False, allow_null=True, help_text="Depends on the kind (above)."
    )
    due_date = serializers.DateField(
        input_formats=["%Y-%m-%d"], required=False, allow_null=True, help_text="Today or later (YYYY-MM-DD)."
    )


class GoalChange(StrictSerializer):
    """What may change on an active goal: its target and due date (checked as when setting it)."""

    target = serializers.IntegerField(min_value=0, max_value=MAX_TARGET, required=False, allow_null=True)
    due_date = serializers.DateField(input_formats=["%Y-%m-%d"], required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Give target, due_date or both."]})
        return attrs


# SECTION: answers


class GoalListOut(TypedDict):
    student: int
    goals: Annotated[list[GoalOut], "Active first, then achieved, missed and cancelled; newest first within each."]
    max_active: Annotated[int, "How many goals may be active at once."]
    as_of: datetime


class PathListOut(TypedDict):
    student: int
    paths: Annotated[list[PathProgressOut], "In progress first, then not started, then complete."]
    as_of: datetime


# SECTION: views


class GoalsView(APIView):
    @property
    def viewer(self) -> User:
        return cast(User, self.request.user)

    def scoped_student(self, request: Request) -> tuple[User, Any]:
        """The student asked about, and the classes the figures are limited to (None: all of the student's)."""
        query = query_of(StudentQuery, request.query_params)
        student = student_in_scope(self.viewer, query.get("student"))
        if sees_whole_student(self.viewer, student):
            return student, None
        return student, courses_in_common(self.viewer, student).values("pk")


class GoalListView(GoalsView):
    """Your goals (students), or a student's (staff, `?student=`): finish a learning path, complete a class by a
    date, or active minutes or XP per week — each with its progress, checked from the student's events, and the
    milestones reached (25, 50, 75, 100 %). A teacher sees the goals about the classes they teach."""

    query_serializer = StudentQuery

    @extend_schema(
        operation_id="recommendations_goals_list",
        summary="Goals of a student",
        parameters=[StudentQuery],
        responses={200: answer_type(GoalListOut)},
    )
    def get(self, request: Request) -> Response:
        student, course_ids = self.scoped_student(request)
        now = timezone.now()
        answer: GoalListOut = {
            "student": student.pk,
            "goals": goals_for_student(student, now=now, course_ids=course_ids),
            "max_active": MAX_ACTIVE_GOALS,
            "as_of": now,
        }
        return Response(answer)

    @extend_schema(
        operation_id="recommendations_goals_create",
        summary="Set a goal for yourself (students)",
        parameters=[],
        request=GoalIn,
        responses={201: answer_type(GoalOut)},
    )
    def post(self, request: Request) -> Response:
        if self.viewer.role != Role.STUDENT:
            raise PermissionDenied("Only students set goals, each for themselves.")
        given = GoalIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        now = timezone.now()
        goal = goal_create(
            student=self.viewer,
            kind=data["kind"],
            path=data.get("path"),
            course=data.get("course"),
            target=data.get("target"),
            due_date=data.get("due_date"),
            now=now,
        )
        return Response(goal_out(_with_milestones(goal.pk), now=now), status=status.HTTP_201_CREATED)


def _own_goals(viewer: User) -> QuerySet[Goal]:
    return Goal.objects.filter(student=viewer).select_related("student__organization", "organization", "path", "course")


def _with_milestones(pk: int) -> Goal:
    return Goal.objects.select_related("path", "course").prefetch_related("milestones").get(pk=pk)


class GoalDetailView(GoalsView):
    """One of your goals: read it, change its target or due date (PATCH; active goals only), or cancel it (DELETE;
    it is kept as cancelled). Another person's goal: 404."""

    query_serializer = NoQuery

    @extend_schema(summary="One of your goals", responses={200: answer_type(GoalOut)})
    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        goal = cast(Goal, scoped_get_or_404(_own_goals(self.viewer), pk))
        return Response(goal_out(_with_milestones(goal.pk), now=timezone.now()))

    @extend_schema(
        summary="Change a goal's target or due date", request=GoalChange, responses={200: answer_type(GoalOut)}
    )
    def patch(self, request: Request, pk: int) -> Response:
        goal = cast(Goal, scoped_get_or_404(_own_goals(self.viewer), pk))
        given = GoalChange(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        now = timezone.now()
        goal_update(goal=goal, target=data.get("target", UNSET), due_date=data.get("due_date", UNSET), now=now)
        return Response(goal_out(_with_milestones(goal.pk), now=now))

    @extend_schema(summary="Cancel a goal", responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        goal = cast(Goal, scoped_get_or_404(_own_goals(self.viewer), pk))
        goal_cancel(goal=goal, now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PathListView(GoalsView):
    """Your learning paths (students), or a student's (staff, `?student=`): every path of the school with an item of
    the student's classes, with steps completed, the current step, time spent, last access and completion,
    recomputed from the student's events. A teacher sees the paths lying wholly inside the classes they teach."""

    query_serializer = StudentQuery

    @extend_schema(
        operation_id="recommendations_paths_list",
        summary="Learning-path progress of a student",
        parameters=[StudentQuery],
        responses={200: answer_type(PathListOut)},
    )
    def get(self, request: Request) -> Response:
        student, course_ids = self.scoped_student(request)
        answer: PathListOut = {
            "student": student.pk,
            "paths": paths_for_student(student, course_ids=course_ids),
            "as_of": timezone.now(),
        }
        return Response(answer)


urlpatterns = [
    path("goals/", GoalListView.as_view(), name="recommendation-goals"),
    path("goals/<int:pk>", GoalDetailView.as_view(), name="recommendation-goal-detail"),
    path("paths/", PathListView.as_view(), name="recommendation-paths"),
]
