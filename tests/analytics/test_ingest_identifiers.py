"""An LMS integration names learners, courses and items by its own identifiers.

Why: an LMS knows its users by username, email or its own user id, and its courses and activities by its own ids; it
should not have to learn ours first. Each identifier is looked up within the key's organisation, every distinct one
once per batch, in the batch's one reference query; one that matches no one yet waits as a dead letter with the
reason (and is stored once the person is synced), one that matches two is refused naming the field.
"""

from datetime import timedelta
from typing import Any
from uuid import uuid4

import orjson
import pytest
from django.utils import timezone

from analytics.models import DeadLetterEvent, LearningEvent
from analytics.services import dead_letters_replay
from analytics.validation import batch_decode_fast, validate_event
from classroom.references import Reference
from tests.analytics.test_ingest_api import api_key_client, post_batch
from tests.analytics.test_ingest_scope import statements
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, StudentFactory


def event(**fields: Any) -> dict[str, Any]:
    # The API compares times with the server clock (horizon, future limit), so events are stamped just now.
    body = {"event_id": str(uuid4()), "action": "material_view", "timestamp": timezone.now().isoformat()}
    body.update(fields)
    return body


def stored_actor(body: dict[str, Any]) -> int:
    return LearningEvent.objects.get(event_id=body["event_id"]).actor_id


def test_learners_named_by_username_email_and_external_id_land_on_the_right_person(school: School) -> None:
    # given: three learners of the class, one of them synced from Moodle
    synced = StudentFactory.create(
        organization=school.organization, external_source="moodle", external_id="u-1001", email="Ana.Ruiz@school.test"
    )
    EnrollmentFactory.create(user=synced, course=school.course)
    by_username = event(actor={"username": "student"}, course=school.course.pk)
    by_email = event(actor={"email": "ana.ruiz@SCHOOL.test"}, course=school.course.pk)
    by_external_id = event(actor={"external_id": "u-1001", "source": "moodle"}, course=school.course.pk)
    by_external_id_alone = event(actor={"external_id": "u-1001"}, course=school.course.pk)
    classmate_by_email = event(actor={"email": school.classmate.email}, course=school.course.pk)
    unknown = event(actor={"username": "not-synced-yet"}, course=school.course.pk)

    # when: one batch (the fast path)
    answer = post_batch(
        api_key_client(school),
        [by_username, by_email, by_external_id, by_external_id_alone, classmate_by_email, unknown],
    ).json()

    # then: each lands on its person; the unknown one is kept with the reason, and the answer says which and why
    assert (answer["accepted"], answer["dead_lettered"], answer["rejected"]) == (6, 1, [])
    assert stored_actor(by_username) == school.student.pk
    assert stored_actor(by_email) == synced.pk
    assert stored_actor(by_external_id) == synced.pk
    assert stored_actor(by_external_id_alone) == synced.pk
    assert stored_actor(classmate_by_email) == school.classmate.pk
    reason = "unknown learner: no active person of this organisation has username 'not-synced-yet'"
    assert answer["dead_letters"] == [{"index": 5, "reason": reason}]
    letter = DeadLetterEvent.objects.get(event_id=unknown["event_id"])
    assert (letter.reason, letter.actor_id, letter.payload["actor"]) == (reason, 0, {"username": "not-synced-yet"})
    assert not LearningEvent.objects.filter(event_id=unknown["event_id"]).exists()


def test_one_event_naming_an_unknown_learner_is_a_dead_letter_with_the_reason(school: School) -> None:
    # when: a single event (the item-by-item path) naming someone by an external id no one has
    body = event(actor={"external_id": "u-404", "source": "moodle"}, course=school.course.pk)
    response = api_key_client(school).post("/api/v1/events/", body, format="json")

    # then
    assert response.status_code == 201, response.content
    reason = "unknown learner: no active person of this organisation has external id 'u-404' (source 'moodle')"
    assert response.json()["dead_letters"] == [{"index": 0, "reason": reason}]
    assert DeadLetterEvent.objects.get().reason == reason


def test_people_of_another_organisation_are_unknown_by_any_name(school: School) -> None:
    # when: the key of one school names a learner of another by username and by email
    answer = post_batch(
        api_key_client(school),
        [event(actor={"username": "foreign_student"}), event(actor={"email": school.foreign_student.email})],
    ).json()

    # then: nothing is stored on them; both wait as dead letters, as for someone who does not exist
    assert answer["dead_lettered"] == 2
    assert not LearningEvent.objects.exists()
    assert set(DeadLetterEvent.objects.values_list("actor_id", flat=True)) == {0}


def test_courses_and_items_named_by_code_and_external_id(school: School) -> None:
    # given: the class and one of its items as synced from Moodle
    school.course.external_source, school.course.external_id = "moodle", "c-77"
    school.course.save()
    school.item.external_source, school.item.external_id = "moodle", "cm-5"
    school.item.save()
    by_code = event(actor=school.student.pk, course={"code": "MATH-1"})
    by_external_ids = event(
        actor={"username": "classmate"},
        course={"external_id": "c-77", "source": "moodle"},
        item={"external_id": "cm-5", "source": "moodle"},
    )
    item_alone = event(actor={"username": "student"}, item={"external_id": "cm-5"})
    unknown_course = event(actor=school.student.pk, course={"code": "MATH-9"})
    unknown_item = event(actor=school.student.pk, course=school.course.pk, item={"external_id": "cm-999"})

    # when
    answer = post_batch(
        api_key_client(school), [by_code, by_external_ids, item_alone, unknown_course, unknown_item]
    ).json()

    # then: the ids are filled in (an item's course too); the unknown ones wait, each with its reason
    stored = {str(row.event_id): (row.actor_id, row.course_id, row.item_id) for row in LearningEvent.objects.all()}
    assert stored == {
        by_code["event_id"]: (school.student.pk, school.course.pk, None),
        by_external_ids["event_id"]: (school.classmate.pk, school.course.pk, school.item.pk),
        item_alone["event_id"]: (school.student.pk, school.course.pk, school.item.pk),
    }
    assert answer["dead_letters"] == [
        {"index": 3, "reason": "unknown course: no course has code 'MATH-9'"},
        {"index": 4, "reason": "unknown learning item: no item has external id 'cm-999'"},
    ]


def test_an_identifier_matching_two_is_refused_naming_the_field(school: School) -> None:
    # given: one external id in two sources, and one item id in two classes (item ids are unique per module only)
    for source in ("moodle", "canvas"):
        StudentFactory.create(organization=school.organization, external_source=source, external_id="42")
    school.item.external_id = "quiz-1"
    school.item.save()
    school.other_item.external_id = "quiz-1"
    school.other_item.save()

    # when
    answer = post_batch(
        api_key_client(school),
        [
            event(actor={"external_id": "42"}),
            event(actor={"username": "student"}, item={"external_id": "quiz-1"}),
            event(actor={"username": "student"}, course=school.course.pk, item={"external_id": "quiz-1"}),
        ],
    ).json()

    # then: the ambiguous ones are refused with a message naming the field; naming the course settles the item
    rejected = {row["index"]: row["errors"] for row in answer["rejected"]}
    assert rejected == {
        0: {"actor": ["External id '42' matches 2 people in this organisation."]},
        1: {"item": ["External id 'quiz-1' matches 2 items in this organisation. Name the course too."]},
    }
    assert LearningEvent.objects.get().item_id == school.item.pk


@pytest.mark.parametrize(
    ("field", "value", "errors"),
    [
        ("actor", {"username": "student", "email": "x@y.z"}, {"actor": ["Name it by exactly one of: username, "
                                                                         "email, external_id."]}),
        ("actor", {"source": "moodle"}, {"actor": ["Name it by exactly one of: username, email, external_id."],
                                         "actor.source": ["Only beside external_id."]}),
        ("actor", {"nickname": "ana"}, {"actor": ["Name it by exactly one of: username, email, external_id."],
                                        "actor.nickname": ["Unknown key: name it by one of username, email, "
                                                           "external_id."]}),
        ("actor", {"username": ""}, {"actor.username": ["Must be a non-empty string."]}),
        ("actor", {"email": "x" * 255}, {"actor.email": ["At most 254 characters."]}),
        ("actor", "student", {"actor": ["Must be a positive integer id or an object with one of: username, email, "
                                        "external_id."]}),
        ("course", {"username": "student"}, {"course": ["Name it by exactly one of: code, external_id."],
                                             "course.username": ["Unknown key: name it by one of code, "
                                                                 "external_id."]}),
        ("item", {"code": "Q1"}, {"item": ["Name it by exactly one of: external_id."],
                                  "item.code": ["Unknown key: name it by one of external_id."]}),
        ("item", {"external_id": 7}, {"item.external_id": ["Must be a non-empty string."]}),
    ],
)  # fmt: skip
def test_a_malformed_identifier_is_a_field_error(
    school: School, field: str, value: Any, errors: dict[str, list[str]]
) -> None:
    # when: one event alone, and the same in a batch (which the fast path hands back to the item-by-item path)
    body = {**event(actor={"username": "student"}, course=school.course.pk), field: value}
    single = api_key_client(school).post("/api/v1/events/", body, format="json")
    batch = post_batch(api_key_client(school), [body])

    # then: the same errors both ways, and nothing stored
    assert single.status_code == 400
    assert single.json() == errors
    assert batch.json()["rejected"] == [{"index": 0, "errors": errors}]
    assert not LearningEvent.objects.exists()
    assert not DeadLetterEvent.objects.exists()


def test_users_still_may_not_name_the_actor_in_any_form(school: School) -> None:
    response = client_for(school.student).post("/api/v1/events/", event(actor={"username": "classmate"}), format="json")
    assert response.status_code == 400
    assert response.json()["actor"] == ["Only integrations (API keys) may name the actor; users post their own events."]


def test_users_may_name_their_own_class_by_its_code(school: School) -> None:
    body = event(course={"code": "MATH-1"})
    assert client_for(school.student).post("/api/v1/events/", body, format="json").status_code == 201
    assert LearningEvent.objects.get().course_id == school.course.pk
    # a class they do not attend is no more known by its code than by its id
    hidden = post_batch(client_for(school.student), [event(course={"code": "HIST-1"})]).json()
    assert hidden["dead_letters"] == [{"index": 0, "reason": "unknown course: no course has code 'HIST-1'"}]


def test_a_dead_letter_for_an_unknown_learner_is_stored_once_they_are_synced(school: School) -> None:
    # given: an event for a learner the roster sync has not brought in yet
    body = event(actor={"external_id": "u-2002", "source": "moodle"}, course=school.course.pk, item=school.item.pk)
    assert api_key_client(school).post("/api/v1/events/", body, format="json").json()["dead_lettered"] == 1
    assert dead_letters_replay(now=timezone.now()) == (0, 1)

    # when: the learner arrives and is enrolled (from before the event), and the letters are replayed
    learner = StudentFactory.create(organization=school.organization, external_source="moodle", external_id="u-2002")
    EnrollmentFactory.create(user=learner, course=school.course, enrolled_at=timezone.now() - timedelta(days=1))
    stored, pending = dead_letters_replay(now=timezone.now())

    # then: the event is theirs
    assert (stored, pending) == (1, 0)
    assert stored_actor(body) == learner.pk
    assert not DeadLetterEvent.objects.exists()


def test_identifiers_cost_no_query_more_than_ids(school: School, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: forty learners of the class, synced with external ids
    learners = [
        StudentFactory.create(organization=school.organization, external_source="moodle", external_id=f"u-{n}")
        for n in range(40)
    ]
    for learner in learners:
        EnrollmentFactory.create(user=learner, course=school.course)
    client = api_key_client(school)
    post_batch(client, [event(actor=school.student.pk)])  # the key's first use is recorded once

    def batch(actor: Any) -> list[dict[str, Any]]:
        return [event(actor=actor(n), course=school.course.pk, item=school.item.pk) for n in range(200)]

    # when: 200 events by our ids, then 200 by username, email and external id in turn
    with statements(monkeypatch) as by_id:
        assert post_batch(client, batch(lambda n: learners[n % 40].pk)).json()["accepted"] == 200
    names = [
        lambda n: {"username": learners[n % 40].username},
        lambda n: {"email": learners[n % 40].email},
        lambda n: {"external_id": f"u-{n % 40}", "source": "moodle"},
    ]
    with statements(monkeypatch) as by_name:
        answer = post_batch(client, [body for name in names for body in batch(name)[: 200 // len(names) + 1]])

    # then: the same statements: each distinct identifier is looked up once, in the batch's one reference query
    assert answer.json()["rejected"] == [] and answer.json()["dead_lettered"] == 0
    assert len(by_name) == len(by_id)
    assert sum("accounts_user" in sql for sql in by_name) == 1


def test_the_fast_path_reads_identifiers_as_the_item_by_item_path_does() -> None:
    now = timezone.now()
    bodies = [
        event(actor={"email": "Ana@X.test"}, course={"code": "MATH-1"}, item={"external_id": "cm-1"}),
        event(actor={"external_id": "u-1", "source": "moodle"}, course={"external_id": "c-1"}),
        event(actor=3, course=4, item={"external_id": "cm-2", "source": "canvas"}),
    ]
    fast = batch_decode_fast(orjson.dumps({"events": bodies}), now=now, horizon=None, may_name_actor=True)
    assert fast is not None
    slow = [validate_event(body, now=now, horizon=None, may_name_actor=True)[0] for body in bodies]
    assert [event for event, _ in fast] == slow
    assert slow[0] is not None and slow[0].actor_ref == Reference("email", "ana@x.test")
    # anything the item-by-item path would refuse or look into is handed back
    for unusual in ({"username": "a", "email": "b"}, {"source": "moodle"}, {"code": "x"}, {"username": ""}):
        body = orjson.dumps({"events": [event(actor=unusual)]})
        assert batch_decode_fast(body, now=now, horizon=None, may_name_actor=True) is None
    named_by_user = orjson.dumps({"events": [event(actor={"username": "a"})]})
    assert batch_decode_fast(named_by_user, now=now, horizon=None, may_name_actor=False) is None
