"""Every catalogue metric with a fast implementation (raw SQL in a hot-path module) answers exactly what its
reference `compute` answers, for every viewer, query and moment of a matrix over the fixed school of
tests/analytics/snapshot_fixture.py: a dropped enrolment (s6), a class without items (EMPTY), a student without XP
(s5), classes in two time zones (MATH in New York, the rest in London) and a second organisation (Tokyo); and the
same school with a completed enrolment and a student who never was active in one of their classes.

Likewise every metric with a `stream` (what reports read) yields exactly the table rows of `compute`'s answer, page
after page (a paged answer's `next` passed back as `after`) for the same questions.

The cases are generated from the registry (core.metrics.catalogue()): a new fast path or stream is covered with no
change here, and so are new query parameters of the kinds core.params offers. Scopes are resolved by
classroom.selectors.metric_scope exactly as analytics.catalogue.scope_for does for a request, with `now` explicit.
"""

import itertools
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from accounts.models import User
from classroom.models import Enrollment
from classroom.selectors import metric_scope
from classroom.services import enrollment_end
from core.metrics import Audience, Metric, catalogue
from core.params import ChoiceParam, CountParam, IdParam, PeriodParam, query_of
from tests.analytics.snapshot_fixture import NOW, Snapshot, build_snapshot_school

FAST = [metric for metric in catalogue() if metric.fast is not None]
STREAMING = [metric for metric in catalogue() if metric.stream is not None]

# The moments each case is asked at: the fixture's own; 23:30 UTC, when London (BST) has begun 1 April and New
# York is still on 31 March; two days later, when nobody was active today; and the evening of s6's only event,
# before they dropped out (their activity lands on "today").
MOMENTS = {
    "now": NOW,
    "after London midnight": NOW.replace(hour=23, minute=30),
    "two days later": NOW + timedelta(days=2),
    "the dropped student's last day": NOW - timedelta(days=6, hours=-1),
}
STAFF = ("teacher", "teacher2", "admin", "operator", "foreign_admin")
STUDENTS = ("s1", "s2", "s3", "s4", "s5", "s6", "foreign_student")
PATH_PARAMETER = re.compile(r"<int:(\w+)>")


def test_the_catalogue_has_fast_paths() -> None:
    # the parametrised test below would pass vacuously on an empty list
    assert FAST, "no catalogue metric declares a fast implementation"
    assert {"analytics-enrolment-figures", "realtime-progress-snapshot", "realtime-class-snapshot"} <= {
        metric.name for metric in FAST
    }


def test_the_catalogue_has_streams() -> None:
    # as above: the stream parity below would pass vacuously on an empty list
    assert "analytics-activity-daily" in {metric.name for metric in STREAMING}


def viewers(metric: Metric) -> tuple[str, ...]:
    return STAFF if metric.audience != Audience.EVERYONE else (*STAFF, *STUDENTS)


def parameter_values(metric: Metric, school: Snapshot) -> dict[str, list[Any]]:
    """Per query (and path) parameter, the values to try: absent (None) and a few of each kind."""
    courses = [course.pk for course in school.courses.values()]
    students = [school.users[name].pk for name in STUDENTS]
    values: dict[str, list[Any]] = {name: [*courses] for name in PATH_PARAMETER.findall(metric.path)}
    for name, field in metric.query().fields.items():
        if isinstance(field, IdParam):
            values[name] = [None, *(students if name == "student" else courses)]
        elif isinstance(field, CountParam):
            values[name] = [None, 1, 14, field.maximum]
        elif isinstance(field, ChoiceParam):
            values[name] = [None, *field.choices]
        elif isinstance(field, PeriodParam):
            values[name] = [None, *field.examples()]
        else:
            values[name] = [None]  # dates, JSON filters: the default (a new kind deserves its own values here)
    return values


def queries(metric: Metric, school: Snapshot) -> Iterator[dict[str, Any]]:
    """Every combination of the parameters' values, validated as the view validates a query string."""
    values = parameter_values(metric, school)
    path_names = set(PATH_PARAMETER.findall(metric.path))
    for combination in itertools.product(*values.values()):
        given = {name: value for name, value in zip(values, combination, strict=True) if value is not None}
        query_string = {name: str(value) for name, value in given.items() if name not in path_names}
        try:
            query = query_of(metric.query, query_string)
        except ValidationError:
            continue  # e.g. two parameters that exclude each other: not a question the API answers
        yield {**query, **{name: given[name] for name in path_names}}


def outcome(compute: Callable[[], Any]) -> tuple[str, Any]:
    """The answer, or the error a request would have turned into a 400."""
    try:
        return "answer", compute()
    except ValidationError as error:
        return "refused", error.detail


def with_a_completed_enrolment(school: Snapshot) -> None:
    """The school's other end of an enrolment: s2 completed SCI (their history stays in the class, they no longer
    count among its enrolled students), and s4 joined SCI without ever being active there."""
    completed = Enrollment.objects.get(user=school.users["s2"], course=school.courses["SCI"])
    enrollment_end(enrollment=completed, status=Enrollment.Status.COMPLETED, ended_at=NOW - timedelta(days=1))
    Enrollment.objects.create(user=school.users["s4"], course=school.courses["SCI"], enrolled_at=NOW - timedelta(2))


VARIANTS: dict[str, Callable[[Snapshot], None]] = {
    "snapshot school": lambda school: None,
    "with a completed enrolment": with_a_completed_enrolment,
}


@pytest.fixture(params=list(VARIANTS))
def snapshot_school(
    request: pytest.FixtureRequest,
    db: None,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Snapshot:
    # the fixture's XP is awarded after each commit "now": the fixed NOW, as in the answers snapshot
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    school = build_snapshot_school(django_capture_on_commit_callbacks)
    VARIANTS[request.param](school)
    return school


@pytest.mark.parametrize("metric", FAST, ids=lambda metric: metric.name)
def test_the_fast_path_answers_what_compute_answers(snapshot_school: Snapshot, metric: Metric) -> None:
    fast_path = metric.fast
    assert fast_path is not None
    compared = 0
    mismatches: list[str] = []
    for viewer_name, moment_name, query in itertools.product(
        viewers(metric), MOMENTS, list(queries(metric, snapshot_school))
    ):
        viewer = User.objects.select_related("organization").get(pk=snapshot_school.users[viewer_name].pk)
        # given the scope a request of `viewer` resolves (404 or 400 outside it: nothing to compare)
        try:
            scope = metric_scope(
                viewer=viewer,
                subject=metric.subject,
                query=query,
                now=MOMENTS[moment_name],
                small_group_setting=metric.small_group_setting,
            )
        except (Http404, ValidationError):
            continue

        # when both implementations answer
        fast, reference = outcome(partial(fast_path, scope, query)), outcome(partial(metric.compute, scope, query))

        # then they agree
        compared += 1
        if fast != reference:
            mismatches.append(
                f"{viewer_name} at {moment_name} with {query}:\n  fast:    {fast}\n  compute: {reference}"
            )

    assert compared, f"no case of {metric.name} could be compared: the matrix is broken"
    assert mismatches == [], f"{len(mismatches)} of {compared} cases differ:\n" + "\n".join(mismatches[:5])


def every_page(metric: Metric, scope: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows of `compute`'s answer, page after page: a paged answer's `next` is passed back as its `after`
    (read by the query's own `after` field, as a request would) until it is None."""
    rows: list[dict[str, Any]] = []
    while True:
        answer = metric.compute(scope, query)
        rows += metric.table(answer)
        following = answer.get("next") if isinstance(answer, dict) else None
        if following is None:
            return rows
        query = {**query, "after": metric.query().fields["after"].run_validation(following)}


def stream_queries(metric: Metric, school: Snapshot) -> Iterator[dict[str, Any]]:
    """queries(), with at most one id parameter named at a time (each class alone, each student alone): paging a
    stream's every combination of class and student at every page size would take minutes for little more."""
    ids = {name for name, field in metric.query().fields.items() if isinstance(field, IdParam)}
    for query in queries(metric, school):
        if len(ids & set(query)) <= 1:
            yield query


@pytest.mark.parametrize("metric", STREAMING, ids=lambda metric: metric.name)
def test_the_stream_yields_what_the_pages_answer(snapshot_school: Snapshot, metric: Metric) -> None:
    stream = metric.stream
    assert stream is not None
    columns = [column.name for column in metric.columns()]
    compared, rows = 0, 0
    mismatches: list[str] = []
    for viewer_name, moment_name, query in itertools.product(
        viewers(metric), MOMENTS, list(stream_queries(metric, snapshot_school))
    ):
        viewer = User.objects.select_related("organization").get(pk=snapshot_school.users[viewer_name].pk)
        # given the scope a request of `viewer` resolves, and its pages followed to the last one (a 404 or 400,
        # in the scope or in the computation: nothing to compare)
        try:
            scope = metric_scope(
                viewer=viewer,
                subject=metric.subject,
                query=query,
                now=MOMENTS[moment_name],
                small_group_setting=metric.small_group_setting,
            )
            paged = every_page(metric, scope, query)
        except (Http404, ValidationError):
            continue

        # when the stream of the same question is read (as a report reads it)
        streamed = [{name: row.get(name) for name in columns} for row in stream(scope, query)]

        # then it holds the same rows in the same order
        compared, rows = compared + 1, rows + len(paged)
        if streamed != paged:
            mismatches.append(f"{viewer_name} at {moment_name} with {query}:\n  stream: {streamed}\n  pages:  {paged}")

    assert compared and rows, f"no rows of {metric.name} could be compared: the matrix is broken"
    assert mismatches == [], f"{len(mismatches)} of {compared} cases differ:\n" + "\n".join(mismatches[:5])
