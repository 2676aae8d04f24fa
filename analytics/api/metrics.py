"""Analytics reads. The requester is request.user; a course or student named in the query is a filter that must be
within their scope (classroom.selectors), never what grants access: outside it, 404 as if it did not exist."""

from datetime import date, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role, User
from accounts.permissions import IsAdministrator, IsStaffRole
from analytics import selectors
from analytics.cache import cached_read
from analytics.daterange import MAX_DAYS, DateRange, parse_days
from classroom.api.scoping import scoped_get_or_404, student_courses, student_in_scope
from classroom.models import Course
from classroom.selectors import visible_courses, visible_students

DAYS = OpenApiParameter("days", int, description=f"1 to {MAX_DAYS} days ending today (default 30).")
STUDENT = OpenApiParameter("student", int, description="Staff: a student they may see. Students: themselves.")
COURSE = OpenApiParameter("course", int, description="Only this course (one the requester may see).")


def _zone(user: User, course: Course | None = None) -> ZoneInfo:
    if course is not None:
        return ZoneInfo(course.time_zone)
    return ZoneInfo(user.organization.time_zone if user.organization else "UTC")


def _int(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValidationError({name: ["Must be a positive integer id."]})
    return int(value)


def _reject_unknown(request: Request, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationError(
            {name: [f"Unknown parameter; allowed: {', '.join(sorted(allowed))}."] for name in unknown}
        )


@extend_schema(tags=["analytics"], parameters=[DAYS, COURSE], responses=OpenApiTypes.OBJECT)
class EngagementTrendView(APIView):
    """Daily active students, events and active minutes over the requester's classes (teachers) or school
    (administrators), with the growth between the first and the last week."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        courses, period = _staff_period(request, set())

        def answer() -> dict[str, Any]:
            points = selectors.engagement_trend(course_ids=courses, period=period)
            return {
                "as_of": period.now,
                "days": period.days,
                "total_events": sum(point["events"] for point in points),
                "peak_active_students": max((point["active_students"] for point in points), default=0),
                "growth_percent": selectors.growth_percent(points, "events"),
                "daily": points,
            }

        return Response(cached_read(request, answer))


@extend_schema(tags=["analytics"], parameters=[DAYS, STUDENT], responses=OpenApiTypes.OBJECT)
class LearningHeatmapView(APIView):
    """One student's activity per day: events, active minutes and XP (zero-filled)."""

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"days", "student"})
        days = parse_days(request.query_params.get("days"), default=90, maximum=MAX_DAYS)
        student = student_in_scope(request.user, _int(request, "student"))
        period = DateRange.last_days(days, now=timezone.now(), zone=_zone(student))
        return Response(
            cached_read(
                request,
                lambda: {
                    "student": student.pk,
                    "as_of": period.now,
                    "days": days,
                    "heatmap": selectors.learning_heatmap(student_id=student.pk, period=period),
                },
            )
        )


@extend_schema(tags=["analytics"], parameters=[DAYS], responses=OpenApiTypes.OBJECT)
class CourseAnalyticsView(APIView):
    """One class over the last `days` days: enrolment and engagement, events, completions, XP, average score, the
    daily engagement trend, assignment timeliness (on time / late / missing / excused) and the score distribution."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request, course_pk: int) -> Response:
        _reject_unknown(request, {"days"})
        user = cast(User, request.user)
        course = cast(Course, scoped_get_or_404(visible_courses(user), course_pk))
        days = parse_days(request.query_params.get("days"), default=30, maximum=365)
        period = DateRange.last_days(days, now=timezone.now(), zone=_zone(user, course))
        return Response(cached_read(request, lambda: selectors.course_analytics(course=course, period=period)))


def _scoped_courses(request: Request) -> Any:
    """The requester's classes, or the one named by `course` (404 outside the scope)."""
    courses = visible_courses(cast(User, request.user))
    course_id = _int(request, "course")
    if course_id is not None:
        courses = courses.filter(pk=scoped_get_or_404(courses, course_id).pk)
    return courses.values_list("pk", flat=True)


def _staff_period(request: Request, allowed: set[str], default_days: int = 30) -> tuple[Any, DateRange]:
    """For class- and school-level reads: reject unknown parameters, then the courses in scope (or the one named)
    and the last `days` days in the requester's time zone."""
    _reject_unknown(request, allowed | {"days", "course"})
    days = parse_days(request.query_params.get("days"), default=default_days, maximum=365)
    period = DateRange.last_days(days, now=timezone.now(), zone=_zone(cast(User, request.user)))
    return _scoped_courses(request), period


@extend_schema(tags=["analytics"], parameters=[COURSE], responses=OpenApiTypes.OBJECT)
class RealtimeView(APIView):
    """Learners active in the last 5 minutes, the 10 latest events and today's count, over the requester's classes."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"course"})
        return Response(
            selectors.realtime(
                course_ids=_scoped_courses(request), now=timezone.now(), zone=_zone(cast(User, request.user))
            )
        )


@extend_schema(tags=["analytics"], parameters=[DAYS, COURSE], responses=OpenApiTypes.OBJECT)
class OverviewView(APIView):
    """Students (total, active), classes (total, active), events, average score, engagement and attendance rates,
    and assignment statistics over the requester's classes for the last `days` days."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        courses, period = _staff_period(request, set())
        return Response(cached_read(request, lambda: selectors.overview(course_ids=courses, period=period)))


TIME_RANGES = {"day": 1, "week": 7, "month": 30, "year": 365}


def _with_names(user: User, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add name and public handle to rows naming a student (all within the requester's scope already)."""
    people = {
        person.pk: person
        for person in visible_students(user)
        .filter(pk__in={row["student"] for row in rows})
        .only("first_name", "last_name", "username", "public_handle")
    }
    for row in rows:
        person = people.get(row["student"])
        row["name"] = (person.get_full_name() or person.username) if person else None
        row["handle"] = person.public_handle if person else None
    return rows


@extend_schema(
    tags=["analytics"],
    parameters=[
        OpenApiParameter("time_range", str, enum=sorted(TIME_RANGES), description="The last day, week, month or year."),
        COURSE,
    ],
    responses=OpenApiTypes.OBJECT,
)
class DashboardView(APIView):
    """Active learners, activities, completions and average score over the last day, week, month or year, with the
    top performers by XP and the latest completions, over the requester's classes."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"time_range", "course"})
        user = cast(User, request.user)
        time_range = request.query_params.get("time_range", "week")
        if time_range not in TIME_RANGES:
            raise ValidationError({"time_range": [f"Unknown time range; allowed: {', '.join(TIME_RANGES)}."]})
        courses = _scoped_courses(request)
        period = DateRange.last_days(TIME_RANGES[time_range], now=timezone.now(), zone=_zone(user))
        return Response(
            cached_read(
                request,
                lambda: {
                    "time_range": time_range,
                    **selectors.summary(course_ids=courses, period=period),
                    "top_performers": _with_names(user, selectors.top_performers(course_ids=courses, period=period)),
                    "recent_completions": _with_names(
                        user, selectors.recent_completions(course_ids=courses, now=period.now)
                    ),
                },
            )
        )


def _date(request: Request, name: str) -> date | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: ["Not a date; use YYYY-MM-DD."]}) from None


@extend_schema(
    tags=["analytics"],
    parameters=[
        OpenApiParameter("start_date", date, description="First day (default: 29 days before end_date)."),
        OpenApiParameter("end_date", date, description="Last day (default: today)."),
        COURSE,
    ],
    responses=OpenApiTypes.OBJECT,
)
class SummaryView(APIView):
    """Totals between two dates (at most 366 days): active learners, events, XP, completions, attempts, scores."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"start_date", "end_date", "course"})
        user = cast(User, request.user)
        now = timezone.now()
        zone = _zone(user)
        end = _date(request, "end_date") or now.astimezone(zone).date()
        start = _date(request, "start_date") or end - timedelta(days=29)
        if start > end:
            raise ValidationError({"start_date": ["Must not be after end_date."]})
        if (end - start).days + 1 > MAX_DAYS:
            raise ValidationError({"start_date": [f"At most {MAX_DAYS} days from start_date to end_date."]})
        period = DateRange(start, end, zone, now)
        courses = _scoped_courses(request)
        return Response(cached_read(request, lambda: selectors.summary(course_ids=courses, period=period)))


@extend_schema(tags=["analytics"], parameters=[DAYS, COURSE], responses=OpenApiTypes.OBJECT)
class ContentTrendsView(APIView):
    """The most viewed items, completions per class and items viewed and completed per day, over the requester's
    classes for the last `days` days."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        courses, period = _staff_period(request, set())
        return Response(cached_read(request, lambda: selectors.content_trends(course_ids=courses, period=period)))


@extend_schema(
    tags=["analytics"],
    parameters=[OpenApiParameter("hours", int, description="1 to 720 hours ending now (default 24).")],
    responses=OpenApiTypes.OBJECT,
)
class SystemMetricsView(APIView):
    """Requests of the last `hours` hours from the request-metrics rollup: count, error rate, p50/p95/p99 latency,
    top endpoints; and learners active meanwhile. For administrators."""

    permission_classes = [IsAdministrator]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"hours"})
        hours = parse_days(request.query_params.get("hours"), default=24, maximum=720, name="hours")
        return Response(selectors.system_metrics(hours=hours, now=timezone.now()))


TIMEFRAME = OpenApiParameter(
    "timeframe",
    str,
    enum=list(selectors.ENGAGEMENT_TIMEFRAMES),
    description="1h or 6h: the hours ending now (event store); 1d, 7d or 30d: the local days ending today (rollups). "
    "Default 1d.",
)


@extend_schema(tags=["analytics"], parameters=[TIMEFRAME, COURSE], responses=OpenApiTypes.OBJECT)
class EngagementMetricsView(APIView):
    """Active users, events, page views (item views), interactions (item completions), interaction rate (per 100
    page views), sessions and their average length, and the same per class, over the requester's classes (teachers)
    or school (administrators) in the timeframe. Definitions: analytics.selectors.engagement_metrics."""

    permission_classes = [IsStaffRole]

    def get(self, request: Request) -> Response:
        _reject_unknown(request, {"timeframe", "course"})
        timeframe = request.query_params.get("timeframe", "1d")
        if timeframe not in selectors.ENGAGEMENT_TIMEFRAMES:
            allowed = ", ".join(selectors.ENGAGEMENT_TIMEFRAMES)
            raise ValidationError({"timeframe": [f"Unknown timeframe; allowed: {allowed}."]})
        courses = _scoped_courses(request)  # the scope check, before any cached answer
        return Response(
            cached_read(
                request,
                lambda: selectors.engagement_metrics(
                    course_ids=courses,
                    timeframe=timeframe,
                    now=timezone.now(),
                    zone=_zone(cast(User, request.user)),
                ),
            )
        )


def _student_and_courses(request: Request) -> tuple[User, int | None, QuerySet[Course]]:
    """For student-level reads: reject unknown parameters; the student (the requester by default, or `student` in
    their scope) and their classes the requester may also see, or the one named by `course`."""
    _reject_unknown(request, {"student", "course"})
    student_id, course_id = _int(request, "student"), _int(request, "course")
    student = student_in_scope(request.user, student_id)
    return student, course_id, student_courses(cast(User, request.user), student, course_id)


@extend_schema(tags=["analytics"], parameters=[STUDENT, COURSE], responses=OpenApiTypes.OBJECT)
class ProgressTrackingView(APIView):
    """A student's learning paths (their courses): total, completed (every item), in progress, not started, the
    completion rate, the average progress and the latest completed items with their titles and times."""

    def get(self, request: Request) -> Response:
        student, course_id, courses = _student_and_courses(request)
        return Response(
            cached_read(
                request,
                lambda: {
                    "student": student.pk,
                    "course": course_id,
                    **selectors.progress_tracking(student_id=student.pk, courses=courses, now=timezone.now()),
                },
            )
        )


@extend_schema(tags=["analytics"], parameters=[STUDENT, COURSE], responses=OpenApiTypes.OBJECT)
class LearningProgressView(APIView):
    """Per course of a student (or the one named): items, lessons and modules completed, progress per module, events,
    active minutes, last day with activity and average score."""

    def get(self, request: Request) -> Response:
        student, course_id, courses = _student_and_courses(request)
        return Response(
            cached_read(
                request,
                lambda: {
                    "student": student.pk,
                    "course": course_id,
                    "as_of": timezone.now(),
                    "courses": selectors.learning_progress(student_id=student.pk, courses=courses),
                },
            )
        )


@extend_schema(tags=["analytics"], parameters=[DAYS], responses=OpenApiTypes.OBJECT)
class UserAnalyticsView(APIView):
    """One student over the last `days` days (default 30) in the classes the requester shares with them: sessions,
    events, active minutes, items viewed and completed, average score, XP, a daily trend and per class the same with
    a class comparison. Students see only themselves, and class figures only when at least
    ANALYTICS_PEER_MIN_STUDENTS students contribute."""

    def get(self, request: Request, user_pk: int) -> Response:
        _reject_unknown(request, {"days"})
        days = parse_days(request.query_params.get("days"), default=30, maximum=365)
        viewer = cast(User, request.user)
        student = cast(User, scoped_get_or_404(visible_students(viewer).select_related("organization"), user_pk))
        period = DateRange.last_days(days, now=timezone.now(), zone=_zone(student))
        is_student = viewer.role == Role.STUDENT and not viewer.is_superuser
        return Response(
            cached_read(
                request,
                lambda: selectors.user_analytics(
                    student_id=student.pk,
                    courses=student_courses(viewer, student, None),
                    period=period,
                    peer_minimum=int(settings.ANALYTICS_PEER_MIN_STUDENTS) if is_student else 0,
                ),
            )
        )
