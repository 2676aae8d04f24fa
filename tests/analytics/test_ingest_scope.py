"""An event counts in a class only for a learner actively enrolled in it as a student at the event's time.

Why: an integration key could post events for anyone of its organisation in any of its classes, and "active
students" then exceeded "enrolled" (109 % engaged). Such an event is kept as a dead letter with the reason (an
enrolment recorded late can still make it count, by a replay); staff activity can never count in a class and is
refused. The check is one set-based query per batch, whatever the batch holds.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from django.utils import timezone

from analytics.models import CourseDailyRollup, DeadLetterEvent, LearningEvent, StudentDailyRollup
from analytics.services import dead_letters_replay
from classroom.models import Enrollment
from classroom.references import NOT_ENROLLED, STAFF_NAMED, STAFF_SELF
from classroom.services import enrollment_end
from tests.analytics.test_ingest_api import api_key_client, post_batch
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, StudentFactory


def event(at: Any = None, **fields: Any) -> dict[str, Any]:
    moment = at or timezone.now() - timedelta(minutes=5)
    body = {"event_id": str(uuid4()), "action": "material_view", "timestamp": moment.isoformat()}
    body.update(fields)
    return body


def test_an_integration_cannot_count_a_learner_in_a_class_they_do_not_attend(school: School) -> None:
    # given: the class has two students; other_student attends another class
    client = api_key_client(school)

    # when: the key posts for both students, and for other_student in this class
    answer = post_batch(
        client,
        [
            event(actor=school.student.pk, course=school.course.pk),
            event(actor=school.classmate.pk, item=school.item.pk),
            event(actor=school.other_student.pk, course=school.course.pk),
            event(actor=school.other_student.pk, item=school.item.pk),
        ],
    ).json()

    # then: the outsider's events wait as dead letters with the reason, and the class counts its two students only
    assert (answer["accepted"], answer["dead_lettered"], answer["rejected"]) == (4, 2, [])
    assert answer["dead_letters"] == [{"index": 2, "reason": NOT_ENROLLED}, {"index": 3, "reason": NOT_ENROLLED}]
    assert set(DeadLetterEvent.objects.values_list("actor_id", flat=True)) == {school.other_student.pk}
    assert set(LearningEvent.objects.values_list("actor_id", flat=True)) == {school.student.pk, school.classmate.pk}
    course_day = CourseDailyRollup.objects.get(course=school.course)
    enrolled = Enrollment.objects.active_students().filter(course=school.course).count()
    assert (course_day.active_students, enrolled) == (2, 2)
    assert not StudentDailyRollup.objects.filter(student=school.other_student).exists()


def test_the_enrolment_at_the_events_time_decides(school: School) -> None:
    # given: a learner enrolled two days ago who dropped the class yesterday
    now = timezone.now()
    learner = StudentFactory.create(organization=school.organization)
    enrolment = EnrollmentFactory.create(user=learner, course=school.course, enrolled_at=now - timedelta(days=2))
    enrollment_end(enrollment=enrolment, status=Enrollment.Status.DROPPED, ended_at=now - timedelta(days=1))
    before = event(now - timedelta(days=3), actor=learner.pk, course=school.course.pk)
    during = event(now - timedelta(days=1, hours=12), actor=learner.pk, course=school.course.pk)  # arrives late
    at_the_end = event(now - timedelta(days=1), actor=learner.pk, course=school.course.pk)
    after = event(now - timedelta(hours=1), actor=learner.pk, course=school.course.pk)
    outside_any_class = event(now - timedelta(hours=1), actor=learner.pk)

    # when
    answer = post_batch(api_key_client(school), [before, during, at_the_end, after, outside_any_class]).json()

    # then: only the event within the enrolment counts in the class; one naming no class is stored as it is
    assert answer["dead_letters"] == [{"index": index, "reason": NOT_ENROLLED} for index in (0, 2, 3)]
    stored = LearningEvent.objects.filter(actor=learner)
    assert {str(e.event_id): e.course_id for e in stored} == {
        during["event_id"]: school.course.pk,
        outside_any_class["event_id"]: None,
    }


def test_a_student_posting_outside_their_enrolment(school: School) -> None:
    # given: a student who completed the class an hour ago (so still sees it), and a class they never attended
    now = timezone.now()
    enrolment = Enrollment.objects.get(user=school.student, course=school.course)
    enrollment_end(enrollment=enrolment, status=Enrollment.Status.COMPLETED, ended_at=now - timedelta(hours=1))
    client = client_for(school.student)

    # when
    answer = post_batch(
        client,
        [
            event(now - timedelta(hours=2), course=school.course.pk),  # before completing: counts
            event(now - timedelta(minutes=5), item=school.item.pk),  # after: waits
            event(course=school.other_course.pk),  # another class: unknown, as ever
        ],
    ).json()

    # then
    assert answer["accepted"] == 2
    assert answer["dead_letters"] == [{"index": 1, "reason": NOT_ENROLLED}]
    assert answer["rejected"] == [{"index": 2, "errors": {"course": ["Unknown course."]}}]
    assert LearningEvent.objects.get().course_id == school.course.pk


def test_staff_activity_never_counts_in_a_class(school: School) -> None:
    # when: the teacher posts their own events, and an integration names the teacher and the administrator
    own = client_for(school.teacher).post("/api/v1/events/", event(course=school.course.pk), format="json")
    own_item = post_batch(client_for(school.teacher), [event(item=school.item.pk), event()]).json()
    named = post_batch(
        api_key_client(school),
        [
            event(actor={"username": "teacher"}, course=school.course.pk),
            event(actor=school.admin.pk, item=school.item.pk),
        ],
    ).json()

    # then: refused with the reason (nothing to replay: it can never count); without a class it is stored
    assert own.status_code == 400
    assert own.json() == {"course": [STAFF_SELF]}
    assert own_item["rejected"] == [{"index": 0, "errors": {"course": [STAFF_SELF]}}]
    assert own_item["accepted"] == 1
    assert [row["errors"] for row in named["rejected"]] == [{"actor": [STAFF_NAMED]}, {"actor": [STAFF_NAMED]}]
    assert LearningEvent.objects.get().course_id is None
    assert not DeadLetterEvent.objects.exists()
    assert not CourseDailyRollup.objects.exists()


def test_a_late_enrolment_lets_the_replay_count_the_event(school: School) -> None:
    # given: an event of a learner whose enrolment the LMS has not synced yet
    now = timezone.now()
    learner = StudentFactory.create(organization=school.organization, username="late-sync")
    body = event(actor={"username": "late-sync"}, course=school.course.pk, item=school.item.pk)
    assert post_batch(api_key_client(school), [body]).json()["dead_letters"] == [{"index": 0, "reason": NOT_ENROLLED}]

    # when: the enrolment arrives, dated from before the event, and the letters are replayed
    EnrollmentFactory.create(user=learner, course=school.course, enrolled_at=now - timedelta(days=1))
    assert dead_letters_replay(now=now) == (1, 0)

    # then: the event counts in the class
    assert StudentDailyRollup.objects.get(student=learner, course=school.course).events == 1


@contextmanager
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The text of every statement sent to PostgreSQL, prepared ones included (Django's query capture does not see
    the statements of core.db.prepared_cursor)."""
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def spy(cursor: psycopg.Cursor, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(cursor, query, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", spy)
        yield sent


def test_one_reference_query_per_batch_however_many_learners(school: School, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: one hundred learners of the class, and a key already used once
    learners = [StudentFactory.create(organization=school.organization) for _ in range(100)]
    for learner in learners:
        EnrollmentFactory.create(user=learner, course=school.course)
    client = api_key_client(school)
    post_batch(client, [event(actor=school.student.pk)])

    def queries(count: int) -> list[str]:
        batch = [event(actor=learners[n % count].pk, course=school.course.pk) for n in range(300)]
        with statements(monkeypatch) as sent:
            assert post_batch(client, batch).json()["accepted"] == 300
        return sent

    # when: a batch from one learner, and one from a hundred
    one, hundred = queries(1), queries(100)

    # then: the same statements, of which one reads the enrolments
    assert len(one) == len(hundred)
    assert sum("classroom_enrollment" in sql for sql in hundred) == 1
