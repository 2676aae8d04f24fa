"""Every model is in Django admin, and its list page with search and filters works."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from analytics.services import events_ingest
from classroom.models import Course, Enrollment
from gamification.models import ScoreBonus
from tests.conftest import School
from tests.factories import StudentFactory

# every app of ours with models (core's Job included)
OUR_APPS = {
    "core",
    "accounts",
    "classroom",
    "analytics",
    "gamification",
    "recommendations",
    "reports",
    "messaging",
    "risk",
    "google_classroom",
}


# shown inline on their parent's page (a message's recipients, a report's versions, a schedule's deliveries), not on
# a page of their own; and a Google sync's fingerprints, its bookkeeping (a hash per Google record), not in admin
INLINE_ONLY = {"MessageRecipient", "ReportVersion", "ReportDelivery", "GoalMilestone", "Fingerprint"}


def our_models() -> list[type[Model]]:
    return [
        model for model in apps.get_models() if model._meta.app_label in OUR_APPS and model.__name__ not in INLINE_ONLY
    ]


def test_every_model_is_registered() -> None:
    missing = [model.__name__ for model in our_models() if not admin.site.is_registered(model)]
    assert missing == []


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_changelist_search_and_detail_pages_load(model: type[Model], school: School) -> None:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert client.get(base).status_code == 200
    assert client.get(base, {"q": "a"}).status_code == 200
    instance = model._default_manager.first()
    if instance is not None:
        assert client.get(f"{base}{instance.pk}/change/").status_code == 200


# SECTION: setting up a school (issue 13)


def operator_client() -> Client:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    return client


def test_course_time_zone_is_chosen_from_a_list_and_defaults_to_the_organisations(school: School) -> None:
    client = operator_client()
    # given: the add form offers IANA zones in a select, the organisation's zone first
    page = client.get("/admin/classroom/course/add/").content.decode()
    assert '<select name="time_zone"' in page
    assert '<option value="" selected>The organisation&#x27;s time zone</option>' in page
    assert '<option value="Asia/Tokyo">Asia/Tokyo</option>' in page

    # when: added without a zone
    response = client.post(
        "/admin/classroom/course/add/",
        {
            "organization": school.organization.pk,
            "title": "Geometry",
            "code": "GEO-1",
            "time_zone": "",
            **empty_inlines("modules", "enrollments"),
        },
    )

    # then: the organisation's zone
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Course.objects.get(code="GEO-1").time_zone == school.organization.time_zone == "Europe/London"


def test_course_admin_refuses_what_the_api_refuses(school: School) -> None:
    client = operator_client()

    def add(time_zone: str) -> Any:
        body = {"organization": school.organization.pk, "title": "Maths again", "code": "MATH-1"}
        response = client.post(
            "/admin/classroom/course/add/", {**body, "time_zone": time_zone, **empty_inlines("modules", "enrollments")}
        )
        assert response.status_code == 200  # the form again, with its errors
        return response.context["adminform"].form.errors

    # a zone not in the list is refused by the field (the service check waits for valid fields)
    assert "Mars/Olympus is not one of the available choices." in add("Mars/Olympus")["time_zone"][0]
    # then the code taken in this organisation, with the API's message (classroom.services.course_check)
    assert add("Europe/Paris") == {"code": ["Another course of this organisation has the code MATH-1."]}


def empty_inlines(*prefixes: str) -> dict[str, str]:
    """The management form of inlines posted with no rows."""
    return {
        f"{prefix}-{name}": value
        for prefix in prefixes
        for name, value in (
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        )
    }


def test_a_course_is_added_with_its_modules_and_enrolments_inline(school: School) -> None:
    # when: one form with a module and two enrolments, one of them of another school's student
    body = {
        "organization": school.organization.pk,
        "title": "Geometry",
        "code": "GEO-1",
        "time_zone": "",
        "modules-TOTAL_FORMS": "1",
        "modules-INITIAL_FORMS": "0",
        "modules-0-position": "1",
        "modules-0-title": "Angles",
        "enrollments-TOTAL_FORMS": "2",
        "enrollments-INITIAL_FORMS": "0",
        **{
            f"enrollments-{row}-{name}": value
            for row, user in enumerate([school.teacher, school.foreign_student])
            for name, value in (
                ("user", str(user.pk)),
                ("role", "teacher" if row == 0 else "student"),
                ("status", "active"),
                ("enrolled_at_0", "2026-09-01"),
                ("enrolled_at_1", "08:00:00"),
            )
        },
    }
    client = operator_client()
    refused = client.post("/admin/classroom/course/add/", body)

    # then: refused, naming the row's field; nothing saved
    assert refused.status_code == 200
    assert [form.errors for form in refused.context["inline_admin_formsets"][1].formset.forms] == [
        {},
        {"user": ["Not in this course's organisation."]},
    ]
    assert not Course.objects.filter(code="GEO-1").exists()

    # when: with a student of the school instead
    accepted = client.post("/admin/classroom/course/add/", {**body, "enrollments-1-user": str(school.classmate.pk)})

    # then
    assert accepted.status_code == 302, accepted.content.decode()[:3000]
    course = Course.objects.get(code="GEO-1")
    assert list(course.modules.values_list("title", flat=True)) == ["Angles"]
    assert sorted(course.enrollments.values_list("user__username", "role")) == [
        ("classmate", "student"),
        ("teacher", "teacher"),
    ]


def test_course_page_lists_its_enrolments_inline(school: School) -> None:
    page = operator_client().get(f"/admin/classroom/course/{school.course.pk}/change/").content.decode()
    assert 'id="enrollments-group"' in page
    assert page.count('name="enrollments-') >= 3 * 5  # three rows of user, role, status, enrolled at, ended at


def test_enrolled_at_defaults_to_now(school: School) -> None:
    # given
    before = timezone.now()
    # when
    form = operator_client().get("/admin/classroom/enrollment/add/").context["adminform"].form
    # then
    initial = form["enrolled_at"].initial  # to the second, as the widget shows it
    assert before.replace(microsecond=0) <= initial <= timezone.now()


def test_enrolment_admin_applies_the_enrolment_rules(school: School) -> None:
    # given: someone of another school
    response = operator_client().post(
        "/admin/classroom/enrollment/add/",
        {
            "user": school.foreign_student.pk,
            "course": school.course.pk,
            "role": "student",
            "status": "active",
            "enrolled_at_0": "2026-09-01",
            "enrolled_at_1": "08:00:00",
        },
    )
    assert response.context["adminform"].form.errors == {"user": ["Not in this course's organisation."]}


def test_bulk_drop_and_complete_enrolments(school: School) -> None:
    client = operator_client()
    rows = Enrollment.objects.filter(course=school.course, role=Enrollment.Role.STUDENT).order_by("user__username")
    classmate, student = list(rows)

    # when
    dropped = client.post(
        "/admin/classroom/enrollment/",
        {"action": "drop_enrollments", ACTION_CHECKBOX_NAME: [classmate.pk]},
        follow=True,
    )
    completed = client.post(
        "/admin/classroom/enrollment/",
        {"action": "complete_enrollments", ACTION_CHECKBOX_NAME: [classmate.pk, student.pk]},
        follow=True,
    )

    # then: ended, not deleted; an ended one stays as it was
    classmate.refresh_from_db()
    student.refresh_from_db()
    assert (classmate.status, student.status) == (Enrollment.Status.DROPPED, Enrollment.Status.COMPLETED)
    assert classmate.ended_at is not None and student.ended_at is not None
    assert "Dropped 1 enrolment." in dropped.content.decode()
    assert "Completed 1 enrolment. 1 had already ended and stay as they were." in completed.content.decode()


def test_enrol_selected_people_into_a_course_of_their_organisation(school: School) -> None:
    client = operator_client()
    newcomer = StudentFactory.create(organization=school.organization, username="newcomer")
    chosen = [newcomer.pk, school.student.pk, school.other_teacher.pk]

    # when: the action first asks for the course, offering only courses of their organisation
    page = client.post("/admin/accounts/user/", {"action": "enrol_into_course", ACTION_CHECKBOX_NAME: chosen})
    assert page.status_code == 200
    offered = list(page.context["form"].fields["course"].queryset.values_list("code", flat=True))
    assert offered == ["HIST-1", "MATH-1"]

    # and then enrols them
    done = client.post(
        "/admin/accounts/user/",
        {"action": "enrol_into_course", ACTION_CHECKBOX_NAME: chosen, "course": school.course.pk, "apply": "Enrol"},
        follow=True,
    )

    # then: the newcomer as a student, the teacher as a teacher; the student already there stays as they were
    assert "Enrolled 2 into MATH-1. 1 were enrolled already." in done.content.decode()
    roles = dict(Enrollment.objects.filter(course=school.course, status="active").values_list("user__username", "role"))
    assert (roles["newcomer"], roles["other_teacher"], roles["student"]) == ("student", "teacher", "student")
    assert Enrollment.objects.filter(user=school.student, course=school.course).count() == 1


def test_enrolling_people_of_two_organisations_is_refused(school: School) -> None:
    client = operator_client()
    response = client.post(
        "/admin/accounts/user/",
        {"action": "enrol_into_course", ACTION_CHECKBOX_NAME: [school.student.pk, school.foreign_student.pk]},
        follow=True,
    )
    assert "Select people of one organisation" in response.content.decode()
    assert not Enrollment.objects.filter(user=school.student, course=school.foreign_course).exists()


def test_score_bonuses_are_spelled_right() -> None:
    assert str(ScoreBonus._meta.verbose_name_plural) == "score bonuses"


@pytest.fixture
def events(school: School) -> list[dict[str, Any]]:
    """Three events of two students in two classes, an hour apart, the newest last."""
    now = timezone.now()
    rows = [
        (school.student, school.course, school.item, "material_view", 3),
        (school.classmate, school.course, school.item, "quiz_submit", 2),
        (school.other_student, school.other_course, school.other_item, "material_view", 1),
    ]
    stored = []
    for number, (student, course, item, action, hours_ago) in enumerate(rows):
        event = {
            "event_id": str(uuid.UUID(int=500 + number)),
            "action": action,
            "timestamp": (now - timedelta(hours=hours_ago)).isoformat(),
            "course": course.pk,
            "item": item.pk,
        }
        outcome = events_ingest(items=[event], principal=student, now=now, horizon=None)
        assert outcome.accepted == 1, outcome.rejected
        stored.append(event)
    return stored


def shown_events(response: Any) -> list[tuple[str, str, str, str]]:
    """(student, course code, item title, action) of each row on the page, in order."""
    return [
        (event.actor.username, event.course.code, event.item.title, event.action)
        for event in response.context["cl"].result_list
    ]


def test_learning_events_list_names_newest_first_and_filters(school: School, events: list[dict[str, Any]]) -> None:
    client = operator_client()
    base = "/admin/analytics/learningevent/"
    item, other_item = school.item.title, school.other_item.title

    # newest first, with names
    everything = client.get(base)
    assert shown_events(everything) == [
        ("other_student", "HIST-1", other_item, "material_view"),
        ("classmate", "MATH-1", item, "quiz_submit"),
        ("student", "MATH-1", item, "material_view"),
    ]
    page = everything.content.decode()
    assert "other_student" in page and "HIST-1" in page and other_item in page

    # by course, by student (username or id), by action, and combined
    assert [row[0] for row in shown_events(client.get(base, {"course__id__exact": str(school.course.pk)}))] == [
        "classmate",
        "student",
    ]
    assert [row[0] for row in shown_events(client.get(base, {"student": "classmate"}))] == ["classmate"]
    assert [row[0] for row in shown_events(client.get(base, {"student": str(school.student.pk)}))] == ["student"]
    assert [row[0] for row in shown_events(client.get(base, {"action__exact": "material_view"}))] == [
        "other_student",
        "student",
    ]
    combined = client.get(base, {"action__exact": "material_view", "course__id__exact": str(school.course.pk)})
    assert [row[0] for row in shown_events(combined)] == ["student"]
    assert shown_events(client.get(base, {"student": "nobody"})) == []
    assert shown_events(client.get(base, {"student": "99999999999999999999"})) == []


def test_learning_events_list_opens_on_the_last_day_unless_narrowed(school: School) -> None:
    """Without a course or student the list shows the last 24 hours (sorting every event ever stored is what made
    it slow); a course or student filter, which have their indexes, shows any time; a period can be chosen."""
    # given: an event three days old
    now = timezone.now()
    old = {
        "event_id": str(uuid.UUID(int=777)),
        "action": "page_view",
        "timestamp": (now - timedelta(days=3)).isoformat(),
        "course": school.course.pk,
    }
    assert events_ingest(items=[old], principal=school.student, now=now, horizon=None).accepted == 1
    client = operator_client()
    base = "/admin/analytics/learningevent/"

    # then
    assert shown_events_or_empty(client.get(base)) == []
    assert len(shown_events_or_empty(client.get(base, {"occurred": "7d"}))) == 1
    assert len(shown_events_or_empty(client.get(base, {"occurred": "all"}))) == 1
    assert len(shown_events_or_empty(client.get(base, {"course__id__exact": str(school.course.pk)}))) == 1
    assert len(shown_events_or_empty(client.get(base, {"student": "student"}))) == 1
    assert shown_events_or_empty(client.get(base, {"student": "student", "occurred": "24h"})) == []


def shown_events_or_empty(response: Any) -> list[str]:
    return [event.action for event in response.context["cl"].result_list]


def test_learning_events_list_never_counts_the_whole_table(school: School, events: list[dict[str, Any]]) -> None:
    """A partitioned table of millions of rows: the page's count is bounded and the names come with the rows."""
    client = operator_client()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/analytics/learningevent/", {"course__id__exact": school.course.pk})
    assert response.status_code == 200
    on_events = [query["sql"] for query in queries.captured_queries if "analytics_learningevent" in query["sql"]]
    counts = [sql for sql in on_events if "COUNT(" in sql.upper()]
    assert counts, on_events
    assert all("LIMIT 10000" in sql for sql in counts), counts
    # one query for the page's rows and one bounded count; the names come by primary key for those rows only
    assert len(on_events) == 2, on_events
    named = [query["sql"] for query in queries.captured_queries if '"accounts_user"."id") IN' in query["sql"]]
    assert len(named) == 1, [query["sql"] for query in queries.captured_queries]
