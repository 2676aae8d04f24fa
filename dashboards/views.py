"""Server-rendered dashboards: a student's progress, a teacher's class and the institution. Each page shows what
one dashboards.selectors function returns (the same as the matching /api/v1/analytics/dashboards/ read), with
charts drawn by Chart.js from the rows of their table fallbacks. `?fragment=1` returns only the dashboard part:
the timeframe picker swaps it in without reloading the page (dashboards.js); without JavaScript the picker is a
plain form."""

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

from accounts.models import Role, User
from accounts.permissions import is_staff_role
from analytics.catalogue import scoped_answer
from core.metrics import metric
from core.params import ChoiceParam, QuerySerializer, query_of
from dashboards import charts

TIMEFRAMES = (7, 30, 90, 365)
OULAD = "oulad"  # Course.external_source of imported OULAD classes: their pages credit the dataset (CC BY 4.0)


class PageQuery(QuerySerializer):
    """The pages' query: the timeframe picker's days (the API takes any number from 1 to 365), and `fragment`."""

    days = ChoiceParam(
        [str(days) for days in TIMEFRAMES],
        label="days",
        default="30",
        message=f"choose one of {', '.join(map(str, TIMEFRAMES))}.",
    )
    fragment = ChoiceParam(["0", "1"], label="fragment", default="0")


def _answer(request: HttpRequest, name: str, **query: Any) -> tuple[Any, Any]:
    """The scope and answer of the catalogue metric `name` for this page, from its query (400 on bad input)."""
    page = query_of(PageQuery, request.GET)
    return scoped_answer(metric(name), request=request, query={**query, "days": int(page["days"])})


def _bad_query(error: ValidationError) -> HttpResponse:
    detail = cast(dict[str, list[str]], error.detail)
    return HttpResponseBadRequest(
        " ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in detail.items())
    )


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context |= {"timeframes": TIMEFRAMES}
    if request.GET.get("fragment") == "1":
        return render(request, f"dashboards/_{template}", context)
    return render(request, f"dashboards/{template}", context)


def _band(band: dict[str, Any]) -> str:
    return f"{band['from_percent']}-{band['to_percent']} %"


def _engagement_chart(points: list[dict[str, Any]]) -> charts.Chart:
    return charts.line(
        "engagement", "Engagement per day", points, {"active_students": "Active students", "events": "Events"}
    )


def _progress_subscription(viewer: User, student: User) -> dict[str, Any]:
    """The live stream a student's page follows (docs/realtime.md): their own, or the named student's for staff."""
    if viewer.pk == student.pk:
        return {"channels": ["progress"]}
    return {"channels": ["progress"], "student": student.pk}


def _student_page(request: HttpRequest, student_id: int) -> HttpResponse:
    viewer = cast(User, request.user)
    try:
        scope, data = _answer(request, "analytics-dashboard-micro", student=student_id)
    except ValidationError as error:
        return _bad_query(error)
    student = scope.student
    courses = data["courses"]
    context = {
        "data": data,
        "shows_oulad": scope.courses.filter(external_source=OULAD).exists(),
        "student": student,
        "own_page": viewer.pk == student.pk,
        "live_subscription": _progress_subscription(viewer, student),
        "zone": scope.zone,
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
    return _student_page(request, user.pk)


@login_required
def student_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """A student's page as their teacher or administrator sees it (a student: only their own)."""
    return _student_page(request, pk)


@login_required
def class_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_staff_role(request.user):
        raise Http404
    try:
        scope, data = _answer(request, "analytics-dashboard-meso", course=pk)
    except ValidationError as error:
        return _bad_query(error)
    course = scope.course
    timeliness = data["assignment_timeliness"]
    states = ("on_time", "late", "missing", "excused")
    context = {
        "data": data,
        "shows_oulad": course.external_source == OULAD,
        "course": course,
        "live_subscription": {"channels": ["engagement", "leaderboard"], "course": course.pk},
        "zone": scope.zone,
        "charts": [
            _engagement_chart(data["engagement"]),
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
    if not is_staff_role(request.user):
        raise Http404
    try:
        scope, data = _answer(request, "analytics-dashboard-macro")
    except ValidationError as error:
        return _bad_query(error)
    courses = data["courses"]
    context = {
        "data": data,
        "zone": scope.zone,
        "charts": [
            _engagement_chart(data["engagement"]),
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
