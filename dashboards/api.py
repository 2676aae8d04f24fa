"""The three levels of dashboard as API reads (the pages in views.py show the same selectors):
micro (one student), meso (one class), macro (the organisation, or a teacher's classes). The student or class named
in the query is a filter within the requester's scope (classroom.selectors): outside it, 404."""

from typing import cast
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import IsStaffRole, is_administrator
from analytics.api.metrics import COURSE, DAYS, STUDENT, _int, _reject_unknown, _zone
from analytics.cache import cached_read
from analytics.daterange import DateRange, parse_days
from classroom.api.scoping import scoped_get_or_404, student_in_scope
from classroom.models import Course
from classroom.selectors import courses_in_common, visible_courses
from dashboards import selectors

MAX_DASHBOARD_DAYS = 365


def _days(request: Request) -> int:
    return parse_days(request.query_params.get("days"), default=30, maximum=MAX_DASHBOARD_DAYS)


@extend_schema(tags=["analytics"], parameters=[STUDENT, DAYS], responses=OpenApiTypes.OBJECT)
class MicroDashboardView(APIView):
    """One student over the last `days` days (their school's calendar): progress per class with the class average
    and percentile (hidden from students below the peer minimum), activity, heatmap, XP, level, streak,
    achievements and recent activity."""

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"student", "days"})
        viewer = cast(User, request.user)
        student = student_in_scope(viewer, _int(request, "student"))
        zone = ZoneInfo(student.organization.time_zone if student.organization else "UTC")
        period = DateRange.last_days(_days(request), now=timezone.now(), zone=zone)
        courses = courses_in_common(viewer, student)
        return Response(
            cached_read(
                request, lambda: selectors.micro(student=student, courses=courses, period=period, viewer=viewer)
            )
        )


@extend_schema(tags=["analytics"], parameters=[COURSE, DAYS], responses=OpenApiTypes.OBJECT)
class MesoDashboardView(APIView):
    """One class over the last `days` days (the class's calendar): course analytics, progress distribution, the
    students table and the week's leaderboard. For its teachers and the school's administrators."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"course", "days"})
        viewer = cast(User, request.user)
        course_id = _int(request, "course")
        if course_id is None:
            raise ValidationError({"course": ["Required: the id of a class you may see."]})
        course = cast(Course, scoped_get_or_404(visible_courses(viewer).select_related("organization"), course_id))
        period = DateRange.last_days(_days(request), now=timezone.now(), zone=_zone(viewer, course))
        return Response(cached_read(request, lambda: selectors.meso(course=course, period=period, viewer=viewer)))


@extend_schema(tags=["analytics"], parameters=[DAYS], responses=OpenApiTypes.OBJECT)
class MacroDashboardView(APIView):
    """All the requester's classes (the whole school for administrators) over the last `days` days: headline
    figures, engagement trend, cross-course comparison, and for administrators the last 24 hours' system metrics."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"days"})
        viewer = cast(User, request.user)
        period = DateRange.last_days(_days(request), now=timezone.now(), zone=_zone(viewer))
        return Response(
            cached_read(
                request,
                lambda: selectors.macro(
                    courses=visible_courses(viewer), period=period, include_system=is_administrator(viewer)
                ),
            )
        )
