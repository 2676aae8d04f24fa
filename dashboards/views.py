"""Server-rendered dashboards: a student's progress, a teacher's class and the institution. Each page shows what
one dashboards.selectors function returns (the same as the matching /api/v1/analytics/dashboards/ read), with
charts drawn by Chart.js from the rows of their table fallbacks. `?fragment=1` returns only the dashboard part:
the timeframe picker swaps it in without reloading the page (dashboards.js); without JavaScript the picker is a
plain form."""

from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from accounts.models import Role, User
from accounts.permissions import is_administrator, is_staff_role
from analytics.cache import cached_read
from analytics.daterange import DateRange
from classroom.selectors import courses_in_common, visible_courses, visible_students
from dashboards import charts, selectors

TIMEFRAMES = (7, 30, 90, 365)
OULAD = "oulad"  # Course.external_source of imported OULAD classes: their pages credit the dataset (CC BY 4.0)
DEFAULT_DAYS = 30


def _days(request: HttpRequest) -> int | None:
    value = request.GET.get("days", str(DEFAULT_DAYS))
    return int(value) if value.isdigit() and int(value) in TIMEFRAMES else None


def _bad_days() -> HttpResponse:
    return HttpResponseBadRequest(f"days: choose one of {', '.join(map(str, TIMEFRAMES))}.")


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context |= {"timeframes": TIMEFRAMES}
    if request.GET.get("fragment") == "1":
        return render(request, f"dashboards/_{template}", context)
    return render(request, f"dashboards/{template}", context)


def _band(band: dict[str, Any]) -> str:
    return f"{band['from_percent']}-{band['to_percent']} %"


def _progress_subscription(viewer: User, student: User) -> dict[str, Any]:
    """The live stream a student's page follows (docs/realtime.md): their own, or the named student's for staff."""
    if viewer.pk == student.pk:
        return {"channels": ["progress"]}
    return {"channels": ["progress"], "student": student.pk}


def _student_page(request: HttpRequest, student: User) -> HttpResponse:
    days = _days(request)
    if days is None:
        return _bad_days()
    viewer = cast(User, request.user)
    zone = ZoneInfo(student.organization.time_zone if student.organization else "UTC")
    period = DateRange.last_days(days, now=timezone.now(), zone=zone)
    shared = courses_in_common(viewer, student)
    data = cached_read(request, lambda: selectors.micro(student=student, courses=shared, period=period, viewer=viewer))
    courses = data["courses"]
    context = {
        "data": data,
        "shows_oulad": shared.filter(external_source=OULAD).exists(),
        "student": student,
        "own_page": viewer.pk == student.pk,
        "live_subscription": _progress_subscription(viewer, student),
        "zone": zone,
        "charts": [
            charts.bar(
                "progress",
                "Progress per class",
                [row["code"] for row in courses],
                {"Items completed (%)": [row["progress_percent"] for row in courses]},
                unit="%",
            ),
            charts.heatmap("heatmap", "Activity per day (events)", data["heatmap"], "events", "Events"),
            charts.line("xp", "XP per day", data["heatmap"], {"xp": "XP"}),
        ],
    }
    return _render(request, "student.html", context)


@login_required
def my_progress(request: HttpRequest) -> HttpResponse:
    """The signed-in student's own page."""
    user = cast(User, request.user)
    if user.role != Role.STUDENT:
        raise Http404
    return _student_page(request, get_object_or_404(visible_students(user).select_related("organization"), pk=user.pk))


@login_required
def student_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's page as their teacher or administrator sees it (a student: only their own)."""
    viewer = cast(User, request.user)
    return _student_page(request, get_object_or_404(visible_students(viewer).select_related("organization"), pk=pk))


@login_required
def class_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = cast(User, request.user)
    if not is_staff_role(viewer):
        raise Http404
    course = get_object_or_404(visible_courses(viewer).select_related("organization"), pk=pk)
    days = _days(request)
    if days is None:
        return _bad_days()
    zone = ZoneInfo(course.time_zone)
    period = DateRange.last_days(days, now=timezone.now(), zone=zone)
    data = cached_read(request, lambda: selectors.meso(course=course, period=period, viewer=viewer))
    timeliness = data["assignment_timeliness"]
    states = ("on_time", "late", "missing", "excused")
    context = {
        "data": data,
        "shows_oulad": course.external_source == OULAD,
        "course": course,
        "live_subscription": {"channels": ["engagement", "leaderboard"], "course": course.pk},
        "zone": zone,
        "charts": [
            charts.line(
                "engagement",
                "Engagement per day",
                data["engagement"],
                {"active_students": "Active students", "events": "Events"},
            ),
            charts.bar(
                "progress-distribution",
                "Students by progress",
                [_band(band) for band in data["progress_distribution"]],
                {"Students": [band["students"] for band in data["progress_distribution"]]},
            ),
            charts.bar(
                "timeliness",
                "Assignments due in the period",
                [state.replace("_", " ") for state in states],
                {"Submissions": [timeliness[state] for state in states]},
            ),
            charts.bar(
                "scores",
                "Scores of submissions handed in",
                [_band(band) for band in data["score_distribution"]],
                {"Submissions": [band["submissions"] for band in data["score_distribution"]]},
            ),
        ],
    }
    return _render(request, "class.html", context)


@login_required
def institution(request: HttpRequest) -> HttpResponse:
    """The organisation for administrators; a teacher sees their own classes side by side."""
    viewer = cast(User, request.user)
    if not is_staff_role(viewer):
        raise Http404
    days = _days(request)
    if days is None:
        return _bad_days()
    zone = ZoneInfo(viewer.organization.time_zone if viewer.organization else "UTC")
    period = DateRange.last_days(days, now=timezone.now(), zone=zone)
    courses_in_scope = visible_courses(viewer)
    data = cached_read(
        request,
        lambda: selectors.macro(courses=courses_in_scope, period=period, include_system=is_administrator(viewer)),
    )
    courses = data["courses"]
    context = {
        "data": data,
        "zone": zone,
        "charts": [
            charts.line(
                "engagement",
                "Engagement per day",
                data["engagement"],
                {"active_students": "Active students", "events": "Events"},
            ),
            charts.bar(
                "comparison",
                "Engagement rate per class",
                [row["code"] for row in courses],
                {"Active / enrolled (%)": [row["engagement_rate"] or 0 for row in courses]},
                unit="%",
            ),
        ],
    }
    return _render(request, "institution.html", context)
