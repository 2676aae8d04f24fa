"""The live snapshots are single SQL statements (they run for every event of a watched scope); they must give the
figures the pages and the REST API compute through the ORM selectors."""

from datetime import timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.utils import timezone

from accounts.api_keys import Integration
from accounts.models import Organization
from analytics.models import StudentDailyRollup
from analytics.selectors import class_progress, overview
from analytics.services import events_ingest
from classroom.models import Course
from core.daterange import DateRange
from dashboards.selectors import micro
from gamification.services import xp_award
from live.selectors import class_engagement_snapshot, student_progress_snapshot
from tests.conftest import School
from tests.factories import LearningItemFactory, ModuleFactory


def post(school: School, student_id: int, course: Course, item: int, action: str, days_ago: int = 0) -> None:
    now = timezone.now()
    body = {
        "event_id": str(uuid4()),
        "action": action,
        "timestamp": (now - timedelta(days=days_ago)).isoformat(),
        "actor": student_id,
        "course": course.pk,
        "item": item,
    }
    principal = Integration(api_key_id=0, organization_id=school.organization.pk)
    assert events_ingest(items=[body], principal=principal, now=now, horizon=None).accepted == 1


def test_snapshots_equal_the_selectors_figures(school: School) -> None:
    # given: a class in a time zone of its own, with a second item; views and completions over three days, by two
    # students; XP awarded for them
    Organization.objects.filter(pk=school.organization.pk).update(time_zone="Europe/London")
    Course.objects.filter(pk=school.course.pk).update(time_zone="Pacific/Auckland")
    course = Course.objects.get(pk=school.course.pk)
    second = LearningItemFactory.create(module=ModuleFactory.create(course=course))
    for days_ago in (2, 1, 0):
        post(school, school.student.pk, course, school.item.pk, "lesson_complete", days_ago)
    post(school, school.student.pk, course, second.pk, "material_view")
    post(school, school.classmate.pk, course, second.pk, "lesson_complete")
    now = timezone.now()
    xp_award(start=now - timedelta(days=4), end=now + timedelta(minutes=1), now=now)
    student = type(school.student).objects.get(pk=school.student.pk)

    # when
    live = student_progress_snapshot(student_id=student.pk, course_ids=[course.pk], now=now)
    page = micro(
        student=student,
        courses=Course.objects.filter(pk=course.pk),
        period=DateRange.last_days(7, now=now, zone=ZoneInfo("Europe/London")),
        viewer=student,
    )

    # then: the student's figures
    assert live["xp"] > 0
    for key in ("xp", "level", "xp_into_level", "xp_to_next_level", "level_progress_percent", "streak"):
        assert live[key] == page[key], key
    assert (live["items_completed"], live["items_total"]) == (page["items_completed"], page["items_total"]) == (1, 2)
    assert live["overall_progress_percent"] == page["overall_progress_percent"]
    assert [
        (row["course"], row["items_completed"], row["items_total"], row["progress_percent"]) for row in live["courses"]
    ] == [
        (row["course"], row["items_completed"], row["items_total"], row["progress_percent"]) for row in page["courses"]
    ]
    # events today: each class's own day (its time zone), as its rollups count days
    auckland_today = now.astimezone(ZoneInfo("Pacific/Auckland")).date()
    assert live["events_today"] == sum(
        StudentDailyRollup.objects.filter(student=student, course=course, day=auckland_today).values_list(
            "events", flat=True
        )
    )
    assert live["events_today"] > 0

    # and the class's, for today in the class's time zone
    figures = overview(
        course_ids=[course.pk], period=DateRange.last_days(1, now=now, zone=ZoneInfo("Pacific/Auckland"))
    )
    progress = list(class_progress([course.pk])[course.pk].values())
    assert class_engagement_snapshot(course_id=course.pk, now=now) == {
        "students_total": figures["students_total"],
        "active_students_today": figures["students_active"],
        "events_today": figures["events"],
        "engagement_rate_today": figures["engagement_rate"],
        "average_progress_percent": round(sum(progress) / len(progress), 1),
    }
    assert figures["events"] > 0 and sum(progress) > 0
