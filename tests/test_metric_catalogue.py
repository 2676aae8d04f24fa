"""A metric added to the catalogue appears in the API, the OpenAPI schema and the exportable column list with no other
code (issue 12, must-hold 6): this test registers one of its own, as an app's AppConfig.ready would, and finds it
served under /api/v1/, documented in /api/schema/ and listed with its columns in /api/v1/analytics/catalogue.

URL patterns are read when the URLconf is loaded (analytics.api.catalogue.catalogue_urlpatterns), which in a running
process happens after every app registered its metrics; here the URLconf is loaded again after registering, and once
more after unregistering, so no other test sees the metric."""

import importlib
from collections.abc import Iterator
from io import StringIO
from typing import Annotated, Any, TypedDict

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import clear_url_caches

from classroom.models import Course, Enrollment, active_student_filter
from core.metrics import Audience, Metric, Scope, Subject, catalogue, register, unregister
from core.params import CountParam, IdParam, QuerySerializer
from tests.conftest import School, client_for

NAME = "test-enrolled-students"
PATH = "analytics/test/enrolled-students"


class ClassHeadcount(TypedDict):
    """One class and its actively enrolled students."""

    course: int
    code: Annotated[str, "The class's code."]
    students: Annotated[int, "Students actively enrolled."]


class EnrolledStudents(TypedDict):
    """Actively enrolled students of the requester's classes."""

    students: Annotated[int, "Students actively enrolled in the classes in scope, each counted once."]
    smallest_class: Annotated[int | None, "The fewest students of a class listed; empty without classes."]
    courses: Annotated[list[ClassHeadcount], "The classes with at least `minimum` students, by code."]


class EnrolledStudentsQuery(QuerySerializer):
    course = IdParam(help_text="Only this class (one the requester may see).")
    minimum = CountParam(default=1, maximum=500, unit="students", help_text="List classes of at least this many.")


def enrolled_students(scope: Scope, query: dict[str, Any]) -> EnrolledStudents:
    active = Enrollment.objects.active_students().filter(course_id__in=scope.course_ids)
    rows = [
        {"course": course.pk, "code": course.code, "students": course.students}
        for course in Course.objects.filter(pk__in=scope.course_ids)
        .annotate(students=Count("enrollments", filter=active_student_filter("enrollments__")))
        .filter(students__gte=query["minimum"])
        .order_by("code", "pk")
    ]
    return {
        "students": active.values("user_id").distinct().count(),
        "smallest_class": min((row["students"] for row in rows), default=None),
        "courses": rows,  # type: ignore[typeddict-item]
    }


PROBE = Metric(
    name=NAME,
    path=PATH,
    summary="Actively enrolled students (a test's own metric)",
    description="Registered by tests/test_metric_catalogue.py only.",
    output=EnrolledStudents,
    query=EnrolledStudentsQuery,
    subject=Subject.COURSES,
    audience=Audience.STAFF,
    compute=enrolled_students,
    owner="tests",
    rows="courses",
)


def reload_urlconf() -> None:
    """Load the URLconf again, as a new process would after every app registered its metrics."""
    clear_url_caches()
    importlib.reload(importlib.import_module("analytics.api.urls"))
    importlib.reload(importlib.import_module("config.urls"))


@pytest.fixture
def registered() -> Iterator[Metric]:
    register(PROBE)
    reload_urlconf()
    try:
        yield PROBE
    finally:
        unregister(NAME)
        reload_urlconf()


def test_a_registered_metric_is_served_with_its_computed_answer(school: School, registered: Metric) -> None:
    # given: the school's classes MATH-1 (student, classmate) and HIST-1 (other_student); Southfield's elsewhere

    # when
    as_admin = client_for(school.admin).get(f"/api/v1/{PATH}")
    as_teacher = client_for(school.teacher).get(f"/api/v1/{PATH}")
    narrowed = client_for(school.admin).get(f"/api/v1/{PATH}", {"course": str(school.course.pk), "minimum": "2"})

    # then: computed over each requester's scope, as JSON
    assert as_admin.status_code == 200, as_admin.content
    assert as_admin.json() == {
        "students": 3,
        "smallest_class": 1,
        "courses": [
            {"course": school.other_course.pk, "code": "HIST-1", "students": 1},
            {"course": school.course.pk, "code": "MATH-1", "students": 2},
        ],
    }
    assert as_teacher.json() == {
        "students": 2,
        "smallest_class": 2,
        "courses": [{"course": school.course.pk, "code": "MATH-1", "students": 2}],
    }
    assert narrowed.json()["courses"] == [{"course": school.course.pk, "code": "MATH-1", "students": 2}]


def test_a_registered_metric_gets_the_catalogues_checks(school: School, registered: Metric) -> None:
    # its audience (staff), its scope (404 outside it), its query serializer (400 naming the parameter)
    assert client_for(school.student).get(f"/api/v1/{PATH}").status_code == 403
    assert client_for(None).get(f"/api/v1/{PATH}").status_code in (401, 403)
    outside = client_for(school.teacher).get(f"/api/v1/{PATH}", {"course": str(school.other_course.pk)})
    assert outside.status_code == 404
    bad = client_for(school.admin).get(f"/api/v1/{PATH}", {"minimum": "²"})
    assert bad.status_code == 400
    assert list(bad.json()) == ["minimum"]
    unknown = client_for(school.admin).get(f"/api/v1/{PATH}", {"days": "7"})
    assert unknown.status_code == 400
    assert "course, minimum" in unknown.json()["days"][0]


def test_a_registered_metric_is_documented_in_the_openapi_schema(db: None, registered: Metric) -> None:
    # when
    schema = client_for(None).get("/api/schema/", {"format": "json"}).json()

    # then: its operation, with its parameters and its typed answer
    operation = schema["paths"][f"/api/v1/{PATH}"]["get"]
    assert operation["summary"] == "Actively enrolled students (a test's own metric)"
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"course", "minimum"}
    assert all(parameter["in"] == "query" for parameter in parameters.values())
    assert parameters["course"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert parameters["minimum"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 1}
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert response == {"$ref": "#/components/schemas/EnrolledStudents"}
    component = schema["components"]["schemas"]["EnrolledStudents"]
    assert component["type"] == "object"
    assert component["required"] == ["courses", "smallest_class", "students"]
    assert component["properties"]["students"] == {
        "type": "integer",
        "description": "Students actively enrolled in the classes in scope, each counted once.",
    }
    assert component["properties"]["smallest_class"]["nullable"] is True
    assert component["properties"]["courses"]["items"] == {"$ref": "#/components/schemas/ClassHeadcount"}
    assert set(schema["components"]["schemas"]["ClassHeadcount"]["properties"]) == {"course", "code", "students"}


def test_a_registered_metric_is_listed_with_its_columns(school: School, registered: Metric) -> None:
    # when
    listed = client_for(school.teacher).get("/api/v1/analytics/catalogue").json()["metrics"]
    for_students = client_for(school.student).get("/api/v1/analytics/catalogue").json()["metrics"]

    # then: with its parameters and the columns of one row, for those who may ask for it
    (entry,) = [metric for metric in listed if metric["name"] == NAME]
    assert entry == {
        "name": NAME,
        "path": PATH,
        "summary": "Actively enrolled students (a test's own metric)",
        "audience": "staff",
        "subject": "courses",
        "owner": "tests",
        "parameters": ["course", "minimum"],
        "rows": "courses",
        "columns": [
            {"name": "course", "type": "integer", "description": "", "nullable": False},
            {"name": "code", "type": "string", "description": "The class's code.", "nullable": False},
            {"name": "students", "type": "integer", "description": "Students actively enrolled.", "nullable": False},
        ],
    }
    assert NAME not in {metric["name"] for metric in for_students}


def test_an_unregistered_metric_is_no_longer_served(school: School, registered: Metric) -> None:
    assert client_for(school.admin).get(f"/api/v1/{PATH}").status_code == 200

    # when
    unregister(NAME)
    reload_urlconf()

    # then
    assert NAME not in {metric.name for metric in catalogue()}
    assert client_for(school.admin).get(f"/api/v1/{PATH}").status_code == 404
    assert NAME not in {
        m["name"] for m in client_for(school.admin).get("/api/v1/analytics/catalogue").json()["metrics"]
    }


def test_a_registered_metric_leaves_the_schema_valid_and_without_warnings(db: None, registered: Metric) -> None:
    output = StringIO()

    # raises CommandError on an invalid schema or, with --fail-on-warn, on any generator warning
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=output)

    assert f'"/api/v1/{PATH}"' in output.getvalue()
