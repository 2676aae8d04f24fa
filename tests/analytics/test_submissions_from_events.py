"""Work handed in through the tracking API (`assignment_submit` / `quiz_submit` at an item) records its submission,
so assignment timeliness and the score distribution count it exactly as the same work entered in admin
(classroom.services.submission_record): issue 12, must-hold 7."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from analytics.models import DeadLetterEvent, LearningEvent
from analytics.services import dead_letters_replay
from classroom.models import Course, Enrollment, LearningItem, Submission
from classroom.services import submission_record
from tests.analytics.snapshot_fixture import NOW as SNAPSHOT_NOW
from tests.analytics.snapshot_fixture import build_snapshot_school
from tests.analytics.test_ingest_api import api_key_client
from tests.conftest import School, client_for
from tests.factories import CourseFactory, EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
ASSIGNMENT_DUE = NOW - 2 * DAY
QUIZ_DUE = NOW - DAY


@pytest.fixture(autouse=True)
def _now(monkeypatch: pytest.MonkeyPatch) -> None:
    # The API checks event times against the clock and the analytics periods end at it: both see NOW.
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@dataclass
class Twins:
    """Two classes alike in every way (items, due times, students), one fed by events, one by admin."""

    by_events: Course
    by_admin: Course
    items: dict[tuple[int, str], LearningItem]  # (course id, "assignment" | "quiz" | "lesson" | "later")
    students: list[User]

    def of(self, course: Course) -> dict[str, LearningItem]:
        return {key: item for (course_id, key), item in self.items.items() if course_id == course.pk}


def class_with_items(school: School, code: str, students: list[User]) -> tuple[Course, dict[str, LearningItem]]:
    course = CourseFactory.create(organization=school.organization, code=code)
    EnrollmentFactory.create(user=school.teacher, course=course, role=Enrollment.Role.TEACHER)
    for student in students:
        EnrollmentFactory.create(user=student, course=course)
    module = ModuleFactory.create(course=course)
    items = {
        "assignment": LearningItemFactory.create(
            module=module, kind=LearningItem.Kind.ASSIGNMENT, max_points=Decimal(20), due_at=ASSIGNMENT_DUE
        ),
        "quiz": LearningItemFactory.create(module=module, kind=LearningItem.Kind.QUIZ, due_at=QUIZ_DUE),
        "lesson": LearningItemFactory.create(
            module=module, kind=LearningItem.Kind.LESSON, max_points=None, due_at=None
        ),
        "later": LearningItemFactory.create(
            module=module, kind=LearningItem.Kind.ASSIGNMENT, max_points=Decimal(20), due_at=NOW + 3 * DAY
        ),
    }
    return course, items


@pytest.fixture
def twins(school: School) -> Twins:
    students = [StudentFactory.create(organization=school.organization, username=f"s{n}") for n in range(1, 7)]
    by_events, event_items = class_with_items(school, "EVENTS-1", students)
    by_admin, admin_items = class_with_items(school, "ADMIN-1", students)
    items = {(by_events.pk, key): item for key, item in event_items.items()}
    items |= {(by_admin.pk, key): item for key, item in admin_items.items()}
    return Twins(by_events, by_admin, items, students)


def hand_in(action: str, item: LearningItem, at: datetime, **metadata: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid4()),
        "action": action,
        "timestamp": at.isoformat(),
        "item": item.pk,
        "metadata": metadata,
    }


def rows(twins: Twins, course: Course) -> list[tuple[Any, ...]]:
    """The course's submissions, by what they are rather than by id."""
    kinds = {item.pk: key for key, item in twins.of(course).items()}
    return sorted(
        (kinds[s.item_id], s.student.username, s.attempt, s.state, s.submitted_at, s.score, s.max_points)
        for s in Submission.objects.filter(item__module__course=course).select_related("student")
    )


def answers(teacher: User, course: Course) -> dict[str, Any]:
    client = client_for(teacher)
    analytics = client.get(f"/api/v1/analytics/courses/{course.pk}/analytics?days=14")
    overview = client.get(f"/api/v1/analytics/overview?days=14&course={course.pk}")
    assert analytics.status_code == overview.status_code == 200, (analytics.content, overview.content)
    return {
        "assignment_timeliness": analytics.json()["assignment_timeliness"],
        "score_distribution": analytics.json()["score_distribution"],
        "assignments": overview.json()["assignments"],
    }


def test_events_and_admin_give_the_same_timeliness_and_scores(school: School, twins: Twins) -> None:
    s1, s2, s3, s4, _s5, s6 = twins.students  # s5 hands in nothing
    events, admin = twins.of(twins.by_events), twins.of(twins.by_admin)

    # given: s6's assignment marked missing in both classes (as a teacher does in admin before it comes in)
    for items in (events, admin):
        submission_record(item=items["assignment"], student=s6, submitted_at=None)

    # when: the work arrives as events ...
    on_time, late = ASSIGNMENT_DUE - timedelta(hours=5), ASSIGNMENT_DUE + timedelta(hours=7)
    assignment = events["assignment"]
    # s1 on time, on the single-event endpoint
    post = client_for(s1).post(
        "/api/v1/events/", hand_in("assignment_submit", assignment, on_time, score=18, max_score=20), format="json"
    )
    assert post.status_code == 201, post.content
    # s2 late, in a batch, with xAPI's scaled score
    batch = [hand_in("assignment_submit", assignment, late, scaled_score=0.5)]
    assert client_for(s2).post("/api/v1/events/batch/", {"events": batch}, format="json").json()["accepted"] == 1
    # s3 on time, sent twice with the same event id (a client's retry): the second is a duplicate
    twice = hand_in("assignment_submit", assignment, on_time - DAY, score=15, max_score=20)
    assert client_for(s3).post("/api/v1/events/", twice, format="json").status_code == 201
    again = client_for(s3).post("/api/v1/events/batch/", {"events": [twice]}, format="json")
    assert again.json() == {"accepted": 0, "duplicates": 1, "dead_lettered": 0, "rejected": [], "dead_letters": []}
    # s4 on time, then a second attempt after the due time (unnumbered: the next attempt)
    first = hand_in("assignment_submit", assignment, on_time, score=8, max_score=20)
    second = hand_in("assignment_submit", assignment, late + DAY, score=16, max_score=20)
    assert client_for(s4).post("/api/v1/events/batch/", {"events": [first]}, format="json").json()["accepted"] == 1
    assert client_for(s4).post("/api/v1/events/batch/", {"events": [second]}, format="json").json()["accepted"] == 1
    # s5 hands in nothing; s6 hands in late, out of 10 (an LMS's own scale), over the missing mark
    six = hand_in("assignment_submit", assignment, late, score=6, max_score=10)
    assert client_for(s6).post("/api/v1/events/", six, format="json").status_code == 201
    # the quiz from an LMS integration naming the learner: s1 attempt 1 on time, s2 numbered attempt 2, late
    quiz = events["quiz"]
    integration = [
        {**hand_in("quiz_submit", quiz, QUIZ_DUE - DAY, score=7, max_score=10, attempts=1), "actor": s1.pk},
        {**hand_in("quiz_submit", quiz, QUIZ_DUE + DAY / 4, scaled_score=0.9, attempts=2), "actor": s2.pk},
    ]
    answer = api_key_client(school).post("/api/v1/events/batch/", {"events": integration}, format="json").json()
    assert answer == {"accepted": 2, "duplicates": 0, "dead_lettered": 0, "rejected": [], "dead_letters": []}

    # ... and the same work is entered in admin
    for student, submitted_at, score, attempt in [
        (s1, on_time, 18, 1),
        (s2, late, 10, 1),
        (s3, on_time - DAY, 15, 1),
        (s4, on_time, 8, 1),
        (s4, late + DAY, 16, 2),
        (s6, late, 12, 1),
    ]:
        submission_record(
            item=admin["assignment"], student=student, submitted_at=submitted_at, score=Decimal(score), attempt=attempt
        )
    submission_record(item=admin["quiz"], student=s1, submitted_at=QUIZ_DUE - DAY, score=Decimal(7), attempt=1)
    submission_record(item=admin["quiz"], student=s2, submitted_at=QUIZ_DUE + DAY / 4, score=Decimal(9), attempt=2)

    # then: the same submissions, row by row ...
    assert rows(twins, twins.by_events) == rows(twins, twins.by_admin)
    # ... and the same figures: assignment: s1, s3 on time; s2, s4 (latest attempt), s6 late; s5 missing.
    # quiz: s1 on time, s2 late, s3-s6 missing.
    by_events = answers(school.teacher, twins.by_events)
    assert by_events == answers(school.teacher, twins.by_admin)
    assert by_events["assignment_timeliness"] == {"on_time": 3, "late": 4, "missing": 5, "excused": 0, "expected": 12}
    bands = {band["from_percent"]: band["submissions"] for band in by_events["score_distribution"]}
    # 18/20, 10/20, 15/20, 8/20 and 16/20, 12/20, 7/10, 9/10
    assert {low: count for low, count in bands.items() if count} == {90: 2, 80: 1, 70: 2, 60: 1, 50: 1, 40: 1}


def test_a_hand_in_records_nothing_unless_a_student_hands_in_graded_work(school: School, twins: Twins) -> None:
    # given
    events = twins.of(twins.by_events)
    student = twins.students[0]
    quiz = events["quiz"]
    batch = [
        hand_in("assignment_submit", events["lesson"], NOW - DAY),  # an item that is not graded
        {**hand_in("quiz_submit", quiz, NOW - DAY), "item": None, "course": twins.by_events.pk},  # no item
        hand_in("quiz_attempt", quiz, NOW - DAY, attempts=1),  # not a hand-in
    ]

    # when
    answer = client_for(student).post("/api/v1/events/batch/", {"events": batch}, format="json").json()
    teacher = client_for(school.teacher).post("/api/v1/events/", hand_in("quiz_submit", quiz, NOW - DAY), format="json")

    # then: every event of the student is stored, the teacher's is refused (staff activity does not count in a
    # class), and no submission
    assert answer["accepted"] == 3
    assert teacher.status_code == 400, teacher.content
    assert LearningEvent.objects.count() == 3
    assert not Submission.objects.exists()


def test_a_batch_without_hand_ins_asks_nothing_more(school: School, twins: Twins) -> None:
    # given: a batch of ordinary events, and one with a hand-in
    quiz = twins.of(twins.by_events)["quiz"]
    student = twins.students[0]
    ordinary = [hand_in("quiz_attempt", quiz, NOW - DAY) for _ in range(3)]

    # when
    with CaptureQueriesContext(connection) as plain:
        client_for(student).post("/api/v1/events/batch/", {"events": ordinary}, format="json")
    with CaptureQueriesContext(connection) as handing_in:
        client_for(student).post(
            "/api/v1/events/batch/", {"events": [hand_in("quiz_submit", quiz, NOW - DAY)]}, format="json"
        )

    # then: the submissions cost one statement, only when there is a hand-in
    def classroom_queries(context: CaptureQueriesContext) -> list[str]:
        return [
            q["sql"]
            for q in context.captured_queries
            if "classroom_submission" in q["sql"] or "classroom_learningitem" in q["sql"]
        ]

    assert classroom_queries(plain) == []
    assert len(classroom_queries(handing_in)) == 1
    assert Submission.objects.get().state == Submission.State.ON_TIME


def test_attempts_in_one_batch_follow_their_times_and_a_repeated_attempt_updates(school: School, twins: Twins) -> None:
    # given: attempt 1 already recorded
    quiz = twins.of(twins.by_events)["quiz"]
    student = twins.students[0]
    submission_record(item=quiz, student=student, submitted_at=QUIZ_DUE - 3 * DAY, score=Decimal(3))

    # when: one batch with two unnumbered hand-ins (posted out of time order) and two of attempt 5
    batch = [
        hand_in("quiz_submit", quiz, QUIZ_DUE + DAY / 2, score=9, max_score=10),
        hand_in("quiz_submit", quiz, QUIZ_DUE - DAY, score=4, max_score=10),
        hand_in("quiz_submit", quiz, QUIZ_DUE - DAY / 2, score=5, max_score=10, attempts=5),
        hand_in("quiz_submit", quiz, QUIZ_DUE - DAY / 4, score=6, max_score=10, attempts=5),
    ]
    answer = client_for(student).post("/api/v1/events/batch/", {"events": batch}, format="json").json()

    # then: the unnumbered ones follow the numbered ones, in time order; of attempt 5 the later one is kept
    assert answer["accepted"] == 4
    recorded = Submission.objects.filter(item=quiz, student=student).order_by("attempt")
    assert [(s.attempt, s.state, s.score) for s in recorded] == [
        (1, "on_time", Decimal(3)),
        (5, "on_time", Decimal(6)),
        (6, "on_time", Decimal(4)),
        (7, "late", Decimal(9)),
    ]


def test_a_hand_in_replaces_a_missing_mark_of_any_attempt(school: School, twins: Twins) -> None:
    # given: a missing mark at attempt 2 (after an excused attempt 1)
    assignment = twins.of(twins.by_events)["assignment"]
    student = twins.students[0]
    submission_record(item=assignment, student=student, submitted_at=None, excused=True)
    submission_record(item=assignment, student=student, submitted_at=None, attempt=2)

    # when: the work comes in, numbered attempt 3
    body = hand_in("assignment_submit", assignment, ASSIGNMENT_DUE - DAY, attempts=3)
    assert client_for(student).post("/api/v1/events/", body, format="json").status_code == 201

    # then: the missing mark is gone rather than left as another attempt
    recorded = Submission.objects.filter(item=assignment, student=student).order_by("attempt")
    assert [(s.attempt, s.state, s.score) for s in recorded] == [(1, "excused", None), (3, "on_time", None)]


def test_a_replayed_dead_letter_records_its_submission(school: School) -> None:
    # given: a hand-in at an item the LMS has not synced yet
    event_id = uuid4()
    body = {
        "event_id": str(event_id),
        "action": "assignment_submit",
        "timestamp": (NOW - DAY).isoformat(),
        "course": school.course.pk,
        "item": 999_999,
        "metadata": {"score": 17, "max_score": 20},
    }
    assert client_for(school.student).post("/api/v1/events/", body, format="json").json()["dead_lettered"] == 1
    assert not Submission.objects.exists()

    # when: the item arrives, and the letters are replayed
    LearningItemFactory.create(
        id=999_999,
        module=ModuleFactory.create(course=school.course),
        kind=LearningItem.Kind.ASSIGNMENT,
        max_points=Decimal(100),
        due_at=NOW - 2 * DAY,
    )
    assert dead_letters_replay(now=NOW) == (1, 0)

    # then
    assert not DeadLetterEvent.objects.exists()
    assert LearningEvent.objects.filter(event_id=event_id).exists()
    submission = Submission.objects.get()
    assert (submission.item_id, submission.student_id, submission.attempt) == (999_999, school.student.pk, 1)
    assert (submission.state, submission.score, submission.max_points) == ("late", Decimal(85), Decimal(100))
    assert submission.submitted_at == NOW - DAY


def test_the_snapshot_schools_quiz_hand_ins_are_counted(
    db: None, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the fixed school of the answer snapshots, whose quiz_submit events were counted as missing before
    monkeypatch.setattr(timezone, "now", lambda: SNAPSHOT_NOW)
    school = build_snapshot_school(django_capture_on_commit_callbacks)
    math = school.courses["MATH"]

    # when
    answer = client_for(school.users["teacher"]).get(f"/api/v1/analytics/courses/{math.pk}/analytics?days=14").json()
    overview = client_for(school.users["admin"]).get("/api/v1/analytics/overview").json()

    # then: assignment1 (s1 on time, s2 late, s3 excused, s4 and s5 missing) and quiz1 (s1 on time, s2 late)
    assert answer["assignment_timeliness"] == {"on_time": 2, "late": 2, "missing": 5, "excused": 1, "expected": 10}
    bands = {band["from_percent"]: band["submissions"] for band in answer["score_distribution"] if band["submissions"]}
    assert bands == {90: 2, 60: 2}  # 18/20 and 9/10, 12/20 and 6/10
    # the school: those four and quiz2 by s1 (SCI)
    assert overview["assignments"] == {"handed_in": 5, "late": 2, "graded": 5}
