"""Server-rendered dashboards: a student's progress, a teacher's class and the institution. Each page shows what
one dashboards.selectors function returns (the same as the matching /api/v1/analytics/dashboards/ read), with
charts drawn by Chart.js from the rows of their table fallbacks. `?fragment=1` returns only the dashboard part:
the timeframe picker swaps it in without reloading the page (dashboards.js); without JavaScript the picker is a
plain form."""

import uuid
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError

from accounts.models import Role, User
from accounts.permissions import is_staff_role
from analytics import selectors as analytics
from analytics.catalogue import scoped_answer
from analytics.metrics import ITEM_HELP, MODULE_HELP
from core.exceptions import ApplicationError
from core.metrics import metric
from core.params import ChoiceParam, CountParam, IdParam, PeriodParam, QuerySerializer, ascii_integer, query_of
from dashboards import charts, recommendation_parts, risk_parts
from messaging.models import SUBJECT_MAX_CHARS
from messaging.services import RateLimited, message_send

TIMEFRAMES = ("7d", "30d", "90d", "365d")
OULAD = "oulad"  # Course.external_source of imported OULAD classes: their pages credit the dataset (CC BY 4.0)


class PageQuery(QuerySerializer):
    """The pages' query: the timeframe picker's period (the API takes any number of days from 1d to 365d), and
    `fragment`."""

    period = PeriodParam(default="30d", choices=TIMEFRAMES)
    fragment = ChoiceParam(["0", "1"], default="0")


def _answer(request: HttpRequest, name: str, **query: Any) -> tuple[Any, Any]:
    """The scope and answer of the catalogue metric `name` for this page, from its query (400 on bad input)."""
    page = query_of(PageQuery, request.GET)
    return scoped_answer(metric(name), request=request, query={**query, "period": page["period"]})


def _bad_query(error: ValidationError) -> HttpResponse:
    detail = cast(dict[str, list[str]], error.detail)
    return HttpResponseBadRequest(
        " ".join(f"{name}: {' '.join(map(str, messages))}" for name, messages in detail.items())
    )


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    # the live client reads the page at most once per coalescing interval, as the server pushes (docs/realtime.md)
    timeframes = [(token, int(token[:-1])) for token in TIMEFRAMES]
    context |= {"timeframes": timeframes, "live_coalesce_ms": settings.LIVE_COALESCE_MS}
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
    now = timezone.now()
    context = {
        "data": data,
        "shows_oulad": scope.courses.filter(external_source=OULAD).exists(),
        "student": student,
        "own_page": viewer.pk == student.pk,
        "live_subscription": _progress_subscription(viewer, student),
        "risk_history": risk_parts.risk_history(viewer, student, courses),
        # issue 16: learning paths and goals, inside the dashboard part (a `goal_milestone` patches it)
        **recommendation_parts.paths_goals(viewer=viewer, student=student, now=now),
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
    if request.GET.get("fragment") != "1":
        # next steps sit outside the dashboard part (they follow no timeframe): next_steps.js re-reads them from the
        # API after a dismiss or a live `recommendations` message, so a patch of the part neither reads nor marks them
        context |= recommendation_parts.next_steps(viewer=viewer, student=student, courses=courses, now=now)
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


class ClassPageQuery(PageQuery):
    """The class page's query: the timeframe and the filters beside it (the meso metric's parameters). The filter
    form sends an empty value for "any", which the page reads as not given."""

    module = IdParam(help_text=MODULE_HELP)
    item = IdParam(help_text=ITEM_HELP)
    status = ChoiceParam(list(analytics.STUDENT_STATUSES))
    inactive_days = CountParam(default=7, maximum=365)


FILTERS = ("module", "item", "status")
STATES = ("on_time", "late", "missing", "excused")
STATUS_LABELS = {
    "active": "Active in the period",
    "inactive": "Not seen for N days",
    "missing": "With missing work",
    "late": "With late work",
    "on_time": "With work on time",
    "excused": "With excused work",
}


def _filter_query(page: dict[str, Any], **changes: Any) -> str:
    """The page's query string (timeframe and filters, as given) with `changes` (None removes a parameter)."""
    values: dict[str, Any] = {"period": page["period"].token, **{name: page.get(name) for name in FILTERS}}
    if page.get("status") == "inactive" or changes.get("status") == "inactive":
        values["inactive_days"] = changes.pop("inactive_days", page["inactive_days"])
    values |= changes
    return urlencode({name: value for name, value in values.items() if value is not None})


def _class_page(
    request: HttpRequest, pk: int, *, status: int = 200, form: dict[str, Any] | None = None
) -> HttpResponse:
    """The class page for the timeframe and filters in the query string; `form`: the message form as it was
    posted, with its errors (answered with `status`)."""
    # the filter form's "any" is an empty value; an empty timeframe is still refused, as on every page
    params = {name: value for name, value in request.GET.items() if value != "" or name not in FILTERS}
    try:
        page = query_of(ClassPageQuery, params)
        query = {
            "course": pk,
            "period": page["period"],
            "inactive_days": page["inactive_days"],
            **{name: page[name] for name in FILTERS if page.get(name) is not None},
        }
        scope, data = scoped_answer(metric("analytics-dashboard-meso"), request=request, query=query)
    except ValidationError as error:
        return _bad_query(error)
    course = scope.course
    timeliness = data["assignment_timeliness"]
    here = _filter_query(page)
    assignments = [
        {**row, "links": {state: _filter_query(page, item=row["item"], status=state) for state in STATES}}
        for row in data["assignments"]
    ]
    context = {
        "data": data,
        "page": page,
        "status_labels": STATUS_LABELS,
        "status_label": STATUS_LABELS.get(page.get("status") or "", ""),
        "filter_query": here,
        "assignment_rows": assignments,
        "no_activity_query": _filter_query(page, status="inactive", inactive_days=7),
        "everyone_query": _filter_query(page, status=None),
        "filtered_ids": ",".join(str(row["student"]) for row in data["students"]),
        "message_form": form or {},
        "message_request_id": uuid.uuid4(),
        "message_body_limit": settings.MESSAGING_MAX_BODY_CHARS,
        "message_subject_limit": SUBJECT_MAX_CHARS,
        "shows_oulad": course.external_source == OULAD,
        "course": course,
        # `alerts`: a new at-risk alert patches the "Students at risk" section in place
        "live_subscription": {"channels": ["engagement", "leaderboard", "alerts"], "course": course.pk},
        **risk_parts.class_risk(course.pk, cast(User, request.user)),
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
                [state.replace("_", " ") for state in STATES],
                {"Submissions": [timeliness[state] for state in STATES]},
                links=[f"?{_filter_query(page, status=state)}" for state in STATES],
            ),
            charts.bar(
                "scores",
                "Scores of submissions handed in",
                [_band(band) for band in data["score_distribution"]],
                {"Submissions": [band["submissions"] for band in data["score_distribution"]]},
            ),
        ],
    }
    response = _render(request, "class.html", context)
    response.status_code = status
    return response


@login_required
def class_dashboard(request: HttpRequest, pk: int) -> HttpResponse:
    if not is_staff_role(request.user):
        raise Http404
    return _class_page(request, pk)


def _posted_ids(values: list[str]) -> list[int] | None:
    """Student ids as posted (ASCII digits, comma-separated or repeated), or None when one is not an id."""
    ids = [ascii_integer(value.strip()) for text in values for value in text.split(",") if value.strip()]
    if any(value is None or value < 1 for value in ids):
        return None
    return [value for value in ids if value is not None]


@login_required
@require_POST
def class_message(request: HttpRequest, pk: int) -> HttpResponse:
    """The class page's "Message students" form: the students ticked, or everyone in the filter the page showed
    (messaging.services.message_send decides who may be messaged). Sent: back to the page as it was, with a
    confirmation. Refused: the page again with the form as posted and its errors (400; 429 over the hourly limit)."""
    if not is_staff_role(request.user):
        raise Http404
    everyone = request.POST.get("everyone") == "1"
    ids = _posted_ids([request.POST.get("filtered", "")] if everyone else request.POST.getlist("students"))
    try:
        request_id: uuid.UUID | None = uuid.UUID(request.POST.get("request_id", ""))
    except ValueError:
        request_id = None
    subject, body = request.POST.get("subject", ""), request.POST.get("body", "")
    form = {
        "subject": subject,
        "body": body,
        "everyone": everyone,
        "students": {str(value) for value in ids or []},
    }
    if ids is None:
        return _class_page(request, pk, status=400, form={**form, "errors": {"students": ["Not a student id."]}})
    try:
        sent = message_send(
            sender=cast(User, request.user),
            course_id=pk,
            student_ids=ids,
            subject=subject,
            body=body,
            request_id=request_id,
        )
    except PermissionDenied:
        raise Http404 from None
    except ApplicationError as error:
        return _class_page(request, pk, status=400, form={**form, "errors": error.errors})
    except RateLimited as limited:
        response = _class_page(request, pk, status=429, form={**form, "errors": {"form": [str(limited)]}})
        response["Retry-After"] = str(limited.retry_after)
        return response
    count = len(sent.recipients)
    if sent.created:
        messages.success(request, f"Message sent to {count} student{pluralize(count)}.")
    else:
        messages.info(request, "This message was sent already; it was not sent again.")
    query = request.GET.urlencode()
    return redirect(reverse("class-dashboard", args=[pk]) + (f"?{query}" if query else ""))


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
        **risk_parts.model_cards(cast(User, request.user)),
        **risk_parts.reengagement(cast(User, request.user)),
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
