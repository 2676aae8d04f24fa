"""Property-based contract tests: every operation of the served OpenAPI schema, called as an administrator, a
teacher and a student with requests generated from that schema, answers only as the schema says it does.

Why: the schema is the promise outside clients are built on, and hand-written tests only check the answers someone
thought of. Here Schemathesis generates requests from the schema the server serves at run time (not a copy), the
Django app answers in-process against the test database, and each answer must:

- not be a server error (5xx);
- have a status code the operation documents;
- have a body that matches the schema documented for that status, and the documented headers and content type;
- under /api/, carry a JSON Content-Type (every status but 204).

Requests go out as each role with a real JWT and against a small but realistic school (modules, items with due
dates, enrolments, submissions, events), so most operations answer 200s, not only 404s. Generated path ids mostly
miss (a documented 404 is part of the contract); every operation is also called once with the real ids of the
role's own class, and half the generated requests keep those ids while the other parameters vary.

Bounded for the normal suite: derandomized, a fixed number of examples per operation (EDUPATH_CONTRACT_EXAMPLES),
no shrinking, no Hypothesis database. Every example runs in a savepoint that is rolled back, with the cache
cleared, so each one sees the same school and one request never throttles or revokes for the next.
"""

import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import CacheConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from analytics.partitions import forget_known_partitions
from analytics.services import events_ingest
from classroom.models import Enrollment, LearningItem
from classroom.roster import roster_import
from classroom.services import submission_record
from config.wsgi import application
from core.jobs import job_create, job_finish, job_start
from google_classroom.client import READ_SCOPES as GOOGLE_READ_SCOPES
from google_classroom.models import Connection, SyncedCourse
from recommendations.goals import goal_create
from recommendations.models import Goal, Recommendation
from recommendations.services import refresh_course
from reports.models import ReportDefinition
from reports.schedules import schedule_create
from reports.services import definition_create, run_execute, run_request
from reports.specs import spec_from
from risk.alerts import alerts_for_predictions
from risk.models import Alert
from tests.conftest import School
from tests.factories import LearningItemFactory, ModuleFactory
from tests.risk.factories import model_version as risk_model_version
from tests.risk.factories import prediction as risk_prediction

SCHEMA_URL = "/api/schema/?format=json"
API_PREFIX = "/api/"
API_V1_PREFIX = "/api/v1/"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
JSON_MEDIA_TYPES = frozenset({"application/json", "application/problem+json"})
PASSWORD = "pass-word-123"  # tests.factories.UserFactory
ROLES = ("administrator", "teacher", "student")

# Per operation and role: this many valid requests and half as many invalid ones (Schemathesis' negative mode: wrong
# types, missing fields, out-of-range values), plus the schema's own examples and one request with real ids. The
# ~130 (role, operation) tests then take about 90 seconds on two cores. Raise it locally to look harder.
EXAMPLES_PER_OPERATION = int(os.environ.get("EDUPATH_CONTRACT_EXAMPLES", "16"))
NEGATIVE = max(1, EXAMPLES_PER_OPERATION // 2)
# Per failure kind (operation, check, status), one example is shown; long bodies are cut at this many characters.
SHOWN_CHARACTERS = 600

EXPLORATION = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same requests every run, on every machine
    database=None,  # writes no .hypothesis/ directory into the checkout
    deadline=None,  # the first request of a run warms caches; time is not under test here
    phases=[Phase.generate],  # failures are collected, not raised: nothing to replay or shrink
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
# Hypothesis also caches what it learns from the source (constants, Unicode tables) under ./.hypothesis/, even without
# a database; this run is bounded and derandomized and needs none of it, so that cache goes outside the checkout.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "edupath-hypothesis")


# SECTION: the schema, as served


def _load_schema() -> tuple[schemathesis.BaseSchema | None, str]:
    """The served schema, loaded once when the module is collected (the parametrization needs its operations).

    A schema that fails to load fails one test below instead of breaking the collection of the whole suite."""
    try:
        config = schemathesis.Config(cache=CacheConfig(enabled=False))
        return schemathesis.openapi.from_wsgi(SCHEMA_URL, application, config=config), ""
    except Exception as error:  # reported by test_schema_loads
        return None, f"{type(error).__name__}: {error}"


SCHEMA, SCHEMA_ERROR = _load_schema()


@dataclass(frozen=True)
class Operation:
    """One operation of the schema as Schemathesis parsed it, or the error it gave instead."""

    label: str  # "GET /api/v1/courses/{id}/"
    operation: Any | None  # schemathesis APIOperation
    error: str = ""


def _operations() -> list[Operation]:
    if SCHEMA is None:
        return []
    found: list[Operation] = []
    for result in SCHEMA.get_all_operations():
        if isinstance(result, Ok):
            operation = result.ok()
            found.append(Operation(label=operation.label, operation=operation))
        else:
            error = result.err()
            label = f"{(error.method or '?').upper()} {error.path or '?'}"
            found.append(Operation(label=label, operation=None, error=str(error)))
    return found


OPERATIONS = _operations()


def served_operations() -> set[str]:
    """The operations of the served schema, read from the document itself (not through Schemathesis)."""
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content[:SHOWN_CHARACTERS]
    paths: dict[str, dict[str, Any]] = json.loads(response.content)["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item if method in HTTP_METHODS}


# SECTION: the school and who calls


@dataclass(frozen=True)
class Actor:
    """Who calls, with a real token, and the real values of the school that this role may name."""

    role: str
    user: User
    access_token: str
    refresh_token: str
    ids: dict[str, int | str]  # path and query parameter name -> a real id this role may use
    ids_by_collection: dict[str, int]  # for a path's `{id}`: the collection before it -> a real id there

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


@dataclass
class ContractSchool:
    school: School
    items: list[LearningItem]


@pytest.fixture
def contract_school(school: School) -> ContractSchool:
    """The conftest school, with a course that has content and activity: another module with items due in the past,
    in the future and never, hand-ins (on time, late, missing) and a week of learning events from two students."""
    now = timezone.now()  # the API compares event times with the server clock (horizon, no future), so real now
    course = school.course
    module = ModuleFactory.create(course=course, title="Fractions")
    items = [
        school.item,
        LearningItemFactory.create(module=module, kind=LearningItem.Kind.QUIZ, due_at=now - timedelta(days=3)),
        LearningItemFactory.create(module=module, kind=LearningItem.Kind.ASSIGNMENT, due_at=now + timedelta(days=4)),
        LearningItemFactory.create(module=module, kind=LearningItem.Kind.VIDEO, due_at=None, max_points=None),
    ]
    submission_record(item=items[1], student=school.student, submitted_at=now - timedelta(days=4), score=Decimal(9))
    submission_record(item=items[1], student=school.classmate, submitted_at=now - timedelta(days=2), score=Decimal(5))
    submission_record(item=items[2], student=school.student, submitted_at=now - timedelta(hours=5), score=None)
    submission_record(item=items[2], student=school.classmate, submitted_at=None)  # not handed in (yet)

    actions = ["session_start", "material_view", "video_play", "quiz_attempt", "quiz_submit", "material_complete"]
    for number, student in enumerate([school.student, school.classmate]):
        events = [
            {
                "event_id": str(uuid.UUID(int=1000 * (number + 1) + index)),
                "action": action,
                "timestamp": (now - timedelta(days=index, hours=number + 1)).isoformat(),
                "course": course.pk,
                "item": items[index % len(items)].pk,
                "metadata": {"duration": 60 + 30 * index},
            }
            for index, action in enumerate(actions)
        ]
        outcome = events_ingest(items=events, principal=student, now=now, horizon=None)
        assert outcome.accepted == len(events), outcome.rejected
    return ContractSchool(school=school, items=items)


def actor_for(role: str, school: ContractSchool) -> Actor:
    """Every role looks at the same class: the teacher teaches it, the student studies in it, the administrator runs
    the school. The student a role asks about is the school's student (for the student: themselves)."""
    users = {"administrator": school.school.admin, "teacher": school.school.teacher, "student": school.school.student}
    user = users[role]
    refresh = RefreshToken.for_user(user)
    course = school.school.course
    student = school.school.student
    module_id = school.items[1].module_id
    return Actor(
        role=role,
        user=user,
        access_token=str(refresh.access_token),
        refresh_token=str(refresh),
        ids={
            "course": course.pk,
            "course_pk": course.pk,
            "student": student.pk,
            "module": module_id,
            "item": school.items[1].pk,  # a quiz of the class, already due (the class dashboard's `item` filter)
            "job_id": report_rows(school.school).job,  # a report run's job (GET /api/v1/reports/status/{job_id})
            "course_id": google_course_of(school.school),  # the Google course the teacher synced into the class
        },
        ids_by_collection={
            "courses": course.pk,
            "schools": school.school.organization.pk,
            "users": student.pk,
            "modules": module_id,
            "items": school.items[1].pk,
            "enrollments": Enrollment.objects.get(user=student, course=course).pk,
            "jobs": finished_job_of(user, school.school),
            # the risk API (issue 14): the school's model version, the student's alert, the student
            "models": risk_rows(school.school).version,
            "alerts": risk_rows(school.school).alert,
            "students": student.pk,
            # reports (issue 15): the teacher's shared report of the class and its finished CSV run
            "reports": report_rows(school.school).definition,
            "runs": report_rows(school.school).run,
            "schedules": report_schedule_of(school.school),
            # next steps (issue 16): the student's active recommendation and goal (only theirs to act on)
            "recommendations": recommendation_rows(school.school).recommendation,
            "goals": recommendation_rows(school.school).goal,
        },
    )


ROSTER = "username,email,first_name,last_name,role,courses\nnewbie,newbie@example.test,New,Bie,student,MATH-1\n"


def finished_job_of(user: User, school: School) -> int:
    """A roster dry run this role asked for, finished with a real result (as if its worker had run it)."""
    result = roster_import(organization=school.organization, data=ROSTER.encode(), dry_run=True)
    job = job_create(kind="roster_import", requested_by=user, organization_id=school.organization.pk)
    job_start(job_id=job.pk)
    job_finish(job_id=job.pk, result=result, message="Nothing applied.")
    return job.pk


@dataclass(frozen=True)
class RiskRows:
    version: int
    prediction: int
    alert: int


def risk_rows(school: School) -> RiskRows:
    """The school's risk model version, the student's high prediction in the class and its alert (made on first use,
    as scoring would)."""
    alert = Alert.objects.filter(student=school.student, course=school.course).first()
    if alert is None:
        version = risk_model_version(organization=school.organization)
        made = risk_prediction(student=school.student, course=school.course, as_of=timezone.now(), version=version)
        [alert] = alerts_for_predictions([made])
    return RiskRows(version=alert.prediction.model_version_id or 0, prediction=alert.prediction_id, alert=alert.pk)


@dataclass(frozen=True)
class ReportRows:
    definition: int
    run: int
    job: int


def report_rows(school: School) -> ReportRows:
    """The teacher's report of the class's students, shared with the school's staff, and a finished CSV run of it
    (made on first use, as a worker would)."""
    definition = ReportDefinition.objects.filter(owner=school.teacher).first()
    if definition is None:
        spec = spec_from(
            {"dataset": "student-progress", "parameters": {"course": str(school.course.pk)}}, viewer=school.teacher
        )
        definition = definition_create(
            owner=school.teacher, name="Class progress", description="", visibility="shared", spec=spec
        )
        run = run_request(definition, fmt="csv", run_for=school.teacher, requested_by=school.teacher, enqueue=False)
        run_execute(run.pk)
    run = definition.runs.get()
    return ReportRows(definition=definition.pk, run=run.pk, job=run.job_id)


def report_schedule_of(school: School) -> int:
    """A weekly schedule of the teacher's report, to the teacher and the administrator (made on first use)."""
    definition = ReportDefinition.objects.get(pk=report_rows(school).definition)
    schedule = definition.schedules.first() or schedule_create(
        definition,
        owner=school.teacher,
        data={
            "recurrence": "weekly",
            "weekday": 0,
            "time": "07:30",
            "format": "csv",
            "recipients": [school.teacher.pk, school.admin.pk],
        },
    )
    return schedule.pk


@dataclass(frozen=True)
class RecommendationRows:
    recommendation: int
    goal: int


def recommendation_rows(school: School) -> RecommendationRows:
    """The student's next steps, written by the engine from the class's events (on first use, as the refresh job
    would: after the classmate opened a reading the student has not), and a weekly goal of theirs."""
    student = school.student
    if not Recommendation.objects.filter(student=student, status=Recommendation.Status.ACTIVE).exists():
        now = timezone.now()
        reading = LearningItemFactory.create(
            module=school.item.module, kind=LearningItem.Kind.RESOURCE, title="Fractions, explained", due_at=None
        )
        event = {
            "event_id": str(uuid.UUID(int=8000)),
            "action": "material_view",
            "timestamp": (now - timedelta(days=1)).isoformat(),
            "course": school.course.pk,
            "item": reading.pk,
        }
        events_ingest(items=[event], principal=school.classmate, now=now, horizon=None)
        refresh_course(course=school.course, now=now)
    recommendation = Recommendation.objects.filter(student=student, status=Recommendation.Status.ACTIVE).first()
    assert recommendation is not None, "the engine recommended nothing to the contract school's student"
    goal = Goal.objects.filter(student=student).first() or goal_create(
        student=student, kind="weekly_minutes", target=60, now=timezone.now()
    )
    return RecommendationRows(recommendation=recommendation.pk, goal=goal.pk)


def google_course_of(school: School) -> str:
    """The Google Classroom course the teacher connected and synced into their class (on first use, as a sync
    would); the administrator has not connected. The stored token is never read here: Google is not set up."""
    connection, _created = Connection.objects.get_or_create(
        user=school.teacher,
        defaults={
            "organization": school.organization,
            "google_user_id": "g-teacher",
            "google_email": "teacher@school.example",
            "scopes": list(GOOGLE_READ_SCOPES),
            "refresh_token_encrypted": "never-decrypted-here",
        },
    )
    synced, _created = SyncedCourse.objects.get_or_create(
        connection=connection,
        google_course_id="611111111111",
        defaults={"course": school.course, "name": school.course.title, "status": SyncedCourse.Status.OK},
    )
    return synced.google_course_id


def real_path_parameters(operation: Any, actor: Actor) -> tuple[dict[str, Any], list[str]]:
    """Real ids for the operation's path parameters, and the names of those no real id is known for."""
    values: dict[str, Any] = {}
    unknown: list[str] = []
    for name in (parameter.name for parameter in operation.path_parameters):
        if name in actor.ids:
            values[name] = actor.ids[name]
        elif name == "id" and (collection := _collection_before(operation.path, name)) in actor.ids_by_collection:
            values[name] = actor.ids_by_collection[collection]
        else:
            unknown.append(name)
    return values, unknown


def real_query_parameters(operation: Any, actor: Actor) -> dict[str, Any]:
    names = (parameter.name for parameter in operation.query)
    return {name: actor.ids[name] for name in names if name in actor.ids}


def _collection_before(path: str, name: str) -> str:
    segments = [segment for segment in path.split("/") if segment]
    position = segments.index(f"{{{name}}}")
    return segments[position - 1] if position > 0 else ""


_MISSING = object()


def real_body(label: str, actor: Actor, school: ContractSchool) -> Any:
    """A valid body for each operation that takes one, sent once per role with the real ids. An operation missing
    here fails its test, so that a new endpoint is exercised with real data, not only generated data."""
    now = timezone.now()  # events are checked against the server clock
    event = {
        "event_id": str(uuid.UUID(int=9000 + ROLES.index(actor.role))),
        "action": "material_view",
        "timestamp": (now - timedelta(minutes=5)).isoformat(),
        "course": school.school.course.pk,
        "item": school.items[0].pk,
        "metadata": {"duration": 42},
    }
    bodies: dict[str, Any] = {
        "POST /api/v1/auth/token/": {"username": actor.user.username, "password": PASSWORD},
        "POST /api/v1/auth/token/refresh/": {"refresh": actor.refresh_token},
        "POST /api/v1/auth/logout/": {"refresh": actor.refresh_token},
        "POST /api/v1/events/": event,
        "POST /api/v1/events/batch/": {"events": [event]},
        "POST /api/v1/schools/": {"name": "Eastfield", "slug": "eastfield", "time_zone": "Europe/London"},
        # the roster import (issue 13): applied, so the real request writes (and the savepoint takes it back)
        "POST /api/v1/rosters/import": {"csv": ROSTER, "dry_run": False},
        # the write API (issue 13): administrators everywhere in their school, teachers the content of their class
        "POST /api/v1/courses/": {"title": "Algebra", "code": "ALG-1", "time_zone": "Europe/Paris"},
        "PATCH /api/v1/courses/{id}/": {"title": "Mathematics, year 1", "end_date": "2027-06-30"},
        "POST /api/v1/courses/{course_pk}/modules/": {"title": "Decimals"},
        "PATCH /api/v1/modules/{id}/": {"title": "Fractions and decimals"},
        "POST /api/v1/courses/{course_pk}/items/": {
            "module": school.items[1].module_id,
            "kind": "quiz",
            "title": "Decimals quiz",
            "max_points": "10.00",
            "due_at": (now + timedelta(days=7)).isoformat(),
        },
        "PATCH /api/v1/items/{id}/": {"title": "Fractions quiz", "estimated_minutes": 20},
        "POST /api/v1/users/": {"username": "newcomer", "email": "newcomer@example.test", "role": "student"},
        "PATCH /api/v1/users/{id}/": {"first_name": "Sam"},
        "POST /api/v1/courses/{course_pk}/enrollments/": {"user": school.school.other_student.pk},
        "PATCH /api/v1/enrollments/{id}/": {"status": "completed"},
        # messages to students (issue 13): the class's two students; the savepoint takes the message back
        "POST /api/v1/courses/{course_pk}/messages": {
            "students": [school.school.student.pk, school.school.classmate.pk],
            "subject": "Quiz due",
            "body": "The fractions quiz is due on Friday.",
            "request_id": str(uuid.UUID(int=7000 + ROLES.index(actor.role))),
        },
        # aggregation jobs (issue 15): the last week's rollups rebuilt; the savepoint takes the job back
        "POST /api/v1/analytics/aggregations/": {
            "start_date": (now - timedelta(days=7)).date().isoformat(),
            "end_date": now.date().isoformat(),
        },
        # reports (issue 15): the class's students; a preview, an import, an edit (a new version) and a run
        "POST /api/v1/reports": {
            "name": "Students",
            "dataset": "student-progress",
            "parameters": report_course(school),
        },
        "POST /api/v1/reports/preview": {"dataset": "class-progress", "columns": ["code", "completion_rate"]},
        "POST /api/v1/reports/import": {
            "edupath_report": 1,
            "name": "Imported",
            "dataset": "engagement",
            "parameters": {"period": "14d"},
        },
        "PATCH /api/v1/reports/{id}": {"columns": ["name", "progress_percent"], "sort": [{"column": "name"}]},
        "POST /api/v1/reports/{id}/generate": {"format": "xlsx"},
        # report schedules (issue 15): weekdays at 06:45 in Paris to the teacher, run as the recipient; then monthly
        "POST /api/v1/reports/{id}/schedules": {
            "recurrence": "weekdays",
            "time": "06:45",
            "timezone": "Europe/Paris",
            "format": "pdf",
            "recipients": [school.school.teacher.pk],
            "run_as": "recipient",
            "when_empty": "skip",
        },
        "PATCH /api/v1/reports/schedules/{id}": {"recurrence": "monthly", "day_of_month": 1, "weekday": None},
        # the risk API (issue 14): a verdict on the student's prediction; a message about the student's alert
        "POST /api/v1/risk/feedback": {"prediction": risk_rows(school.school).prediction, "verdict": "useful"},
        "POST /api/v1/risk/interventions": {
            "alert": risk_rows(school.school).alert,
            "kind": "message",
            "note": "Two assessments missing.",
            "subject": "Your missing work",
            "body": "Two assessments are not handed in yet; can I help?",
        },
        # next steps (issue 16): the student's feedback on their recommendation (others: 404); a goal and a change
        "POST /api/v1/recommendations/feedback": {
            "recommendation_id": recommendation_rows(school.school).recommendation,
            "rating": 4,
            "helpful": True,
            "feedback": "helpful",
            "comments": "Clear and short.",
        },
        "POST /api/v1/recommendations/goals/": {"kind": "weekly_xp", "target": 200},
        "PATCH /api/v1/recommendations/goals/{id}": {"target": 90},
        # Google Classroom: Google is not set up in the tests (connect answers its 400); a sync of the teacher's own
        "POST /api/v1/integrations/google-classroom/connect": {"purpose": "connect"},
        "POST /api/v1/integrations/google-classroom/sync-courses": {},
    }
    return bodies.get(label, _MISSING)


# SECTION: one exchange and its checks


def report_course(school: ContractSchool) -> dict[str, str]:
    return {"course": str(school.school.course.pk)}


# Report files (issue 15), answered in the format asked for: CSV, XLSX, JSON or PDF (each documented).
FILE_ROUTES = (re.compile(r"/api/v1/reports/[0-9]+/export/?"), re.compile(r"/api/v1/reports/runs/[0-9]+/download/?"))


def json_content_type(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every answer under /api/ but a 204 and a report file is JSON, so clients can always parse an error."""
    path = urlsplit(str(response.request.url)).path
    if not path.startswith(API_PREFIX) or response.status_code == 204:
        return None
    if response.status_code == 200 and any(route.fullmatch(path) for route in FILE_ROUTES):
        return None
    values = response.headers.get("content-type") or []
    media_type = values[0].split(";")[0].strip().lower() if values else None
    if media_type not in JSON_MEDIA_TYPES:
        raise AssertionError(f"Content-Type {values[0] if values else '(none)'!r} is not JSON")
    return None


CHECKS: list[Callable[..., bool | None]] = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    json_content_type,
]


@dataclass
class Finding:
    """The first failing exchange of one kind (operation, role, check, status), and how often that kind came up."""

    check: str
    status: int | None
    title: str
    detail: str
    request: str
    response: str
    source: str
    count: int = 1


@dataclass
class Findings:
    operation: str
    role: str
    by_kind: dict[tuple[str, int | None, str], Finding] = field(default_factory=dict)
    exchanges: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def add(self, finding: Finding) -> None:
        key = (finding.check, finding.status, finding.title)
        if key in self.by_kind:
            self.by_kind[key].count += 1
        else:
            self.by_kind[key] = finding

    def report(self) -> str:
        seen = ", ".join(f"{status}x{count}" for status, count in sorted(self.statuses.items()))
        lines = [
            f"{self.operation} as {self.role}: {len(self.by_kind)} kind(s) of contract failure "
            f"in {self.exchanges} exchanges (statuses {seen})"
        ]
        for finding in sorted(self.by_kind.values(), key=lambda f: (f.check, f.status or 0, f.title)):
            lines += [
                "",
                f"* {self.operation} | role={self.role} | status={finding.status} | check={finding.check} "
                f"| {finding.title} | seen {finding.count}x, first in a {finding.source} request",
                f"  request:  {finding.request}",
                f"  response: {finding.response}",
                "  " + _cut(finding.detail).replace("\n", "\n  "),
            ]
        return "\n".join(lines)


def exchange(case: Any, actor: Actor, findings: Findings, source: str) -> None:
    """Send one request as `actor`, check the answer and record what failed, in a savepoint that is rolled back."""
    savepoint = transaction.savepoint()
    cache.clear()  # throttle counters, revoked tokens, cached figures: as at the start of the test
    try:
        try:
            response = case.call(headers=actor.headers)
        except Exception as error:  # a request that cannot be sent is a finding, not a crash
            findings.add(
                Finding(
                    check="send",
                    status=None,
                    title=type(error).__name__,
                    detail=str(error),
                    request=_describe_case(case),
                    response="(none)",
                    source=source,
                )
            )
            return
        findings.exchanges += 1
        findings.statuses[response.status_code] = findings.statuses.get(response.status_code, 0) + 1
        for check in CHECKS:
            try:
                case.validate_response(response, checks=[check], headers=actor.headers)
            except FailureGroup as group:
                for failure in group.exceptions:
                    findings.add(
                        Finding(
                            check=check.__name__,
                            status=response.status_code,
                            title=failure.title,
                            detail=failure.message,
                            request=_describe_request(response),
                            response=_cut(response.content.decode("utf-8", "replace")),
                            source=source,
                        )
                    )
    finally:
        transaction.savepoint_rollback(savepoint)
        # Partitions created for the example's events were rolled back with it; the process must not remember them.
        forget_known_partitions()


def _describe_request(response: Any) -> str:
    request = response.request
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    url = urlsplit(str(request.url))
    query = f"?{url.query}" if url.query else ""
    content_type = request.headers.get("Content-Type")
    sent = f" [{content_type}] {_cut(body, 300)}" if body else " (no body)"
    return f"{request.method} {url.path}{query}{sent}"


def _describe_case(case: Any) -> str:
    body = getattr(case, "body", None)
    return f"{case.method} {case.formatted_path} query={case.query!r} body={_cut(repr(body), 300)}"


def _cut(text: Any, limit: int = SHOWN_CHARACTERS) -> str:
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


# SECTION: the tests


@pytest.fixture
def wsgi_keeps_test_connection() -> Iterator[None]:
    """Requests reach the app through its WSGI handler, which closes "old" database connections when a request
    starts and ends: that would close the test's transaction. Django's test Client disconnects the same handler."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_schema_loads() -> None:
    """Everything below is generated from the served schema: if it cannot be loaded, nothing below runs."""
    assert SCHEMA is not None, f"{SCHEMA_URL} could not be loaded: {SCHEMA_ERROR}"
    assert OPERATIONS, "the served schema has no operations"


def test_every_api_v1_operation_is_exercised() -> None:
    """A new endpoint is never skipped silently: the operations the contract tests run for each role are exactly
    those of the served document, read here without Schemathesis (which could drop an operation it cannot parse)."""
    # given
    served = {label for label in served_operations() if label.split(" ", 1)[1].startswith(API_V1_PREFIX)}
    assert served, "the served schema has no /api/v1/ operations"

    # when
    exercised = {
        entry.label
        for entry in OPERATIONS
        if entry.operation is not None and entry.label.split(" ", 1)[1].startswith(API_V1_PREFIX)
    }

    # then
    assert sorted(served - exercised) == [], "operations in the schema that no contract test exercises"
    assert sorted(exercised - served) == [], "contract tests for operations the schema no longer has"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entry", OPERATIONS, ids=[entry.label for entry in OPERATIONS])
@pytest.mark.usefixtures("wsgi_keeps_test_connection")
def test_operation_answers_as_documented(entry: Operation, role: str, contract_school: ContractSchool) -> None:
    """Generated requests, the schema's examples and one request with the role's real ids: every answer conforms."""
    # given
    assert entry.operation is not None, f"Schemathesis could not read {entry.label}: {entry.error}"
    operation = entry.operation
    actor = actor_for(role, contract_school)
    findings = Findings(operation=entry.label, role=role)
    path_ids, unknown_path_ids = real_path_parameters(operation, actor)
    query_ids = real_query_parameters(operation, actor)

    # when: the role's real ids, once
    body = real_body(entry.label, actor, contract_school)
    if body is _MISSING and len(operation.body):
        pytest.fail(f"{entry.label} takes a body: add a valid one for it to real_body()")
    assert not unknown_path_ids, f"no real id known for {unknown_path_ids} of {entry.label}: add them to actor_for()"
    real = operation.Case(
        path_parameters=path_ids,
        query=query_ids or None,
        **({} if body is _MISSING else {"body": body, "media_type": "application/json"}),
    )
    exchange(real, actor, findings, source="real-ids")

    # when: the schema's own examples
    for strategy in operation.get_strategies_from_examples():
        _explore(strategy, actor, findings, source="schema-example", max_examples=1)

    # when: generated requests, valid and invalid; half of them keep the real ids while everything else varies
    for mode, examples in ((GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION), (GenerationMode.NEGATIVE, NEGATIVE)):
        generated = operation.as_strategy(mode)
        if path_ids or query_ids:
            anchored = operation.as_strategy(mode, path_parameters=path_ids, query=query_ids or None)
            generated = st.one_of(generated, anchored)
        _explore(generated, actor, findings, source=f"generated {mode.value}", max_examples=examples)

    # then
    _append_to_report(findings)
    if findings.by_kind:
        pytest.fail(findings.report(), pytrace=False)


def _append_to_report(findings: Findings) -> None:
    """With EDUPATH_CONTRACT_REPORT=file, one JSON line per (operation, role): the statuses seen and the failures,
    for a summary of a long run (EDUPATH_CONTRACT_EXAMPLES=200) across all operations."""
    report = os.environ.get("EDUPATH_CONTRACT_REPORT")
    if not report:
        return
    line = {
        "operation": findings.operation,
        "role": findings.role,
        "statuses": findings.statuses,
        "failures": [vars(finding) for finding in findings.by_kind.values()],
    }
    with open(report, "a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")


def _explore(strategy: Any, actor: Actor, findings: Findings, *, source: str, max_examples: int) -> None:
    @settings(EXPLORATION, max_examples=max_examples)
    @given(case=strategy)
    def run(case: Any) -> None:
        exchange(case, actor, findings, source=source)

    run()
