"""What items know for recommendations (difficulty and who gave it, tags, prerequisites, skills, outcomes, the
source's type, planned weeks): held by the database, read by everyone who sees the item, written by its teachers and
the school's administrators through the API and Django admin with the same refusals."""

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from classroom.models import LearningItem
from tests.conftest import School, client_for
from tests.factories import LearningItemFactory, ModuleFactory

pytestmark = pytest.mark.django_db

MISSING_ID = 987654321


def item_url(item: LearningItem) -> str:
    return f"/api/v1/items/{item.pk}/"


def violates(constraint: str, **fields: Any) -> bool:
    """Whether saving an item with these fields breaks the named constraint."""
    try:
        with transaction.atomic():
            LearningItemFactory.create(**fields)
    except IntegrityError as error:
        return constraint in str(error)
    return False


# SECTION: the model


def test_database_holds_weeks_in_order_and_a_difficulty_with_its_source() -> None:
    assert violates("classroom_item_weeks_in_order", week_from=5, week_to=4)
    assert not violates("classroom_item_weeks_in_order", week_from=4, week_to=4)
    assert not violates("classroom_item_weeks_in_order", week_from=None, week_to=4)
    assert violates("classroom_item_difficulty_valid", difficulty="expert", difficulty_source="set")
    assert violates("classroom_item_difficulty_sourced", difficulty="advanced", difficulty_source="")
    assert violates("classroom_item_difficulty_sourced", difficulty="", difficulty_source="derived")
    assert not violates("classroom_item_difficulty_sourced", difficulty="advanced", difficulty_source="derived")


def test_prerequisites_point_one_way() -> None:
    # given
    first, second = LearningItemFactory.create(), LearningItemFactory.create()

    # when
    second.prerequisites.add(first)

    # then: the second needs the first; the first unlocks the second, and needs nothing
    assert list(second.prerequisites.all()) == [first]
    assert list(first.unlocks.all()) == [second]
    assert list(first.prerequisites.all()) == []


# SECTION: reading


def test_everyone_who_sees_the_item_reads_what_it_knows(school: School) -> None:
    # given
    first = LearningItemFactory.create(module=school.item.module, title="Fractions")
    item = school.item
    LearningItem.objects.filter(pk=item.pk).update(
        difficulty="intermediate",
        difficulty_source="derived",
        tags=["fractions", "ratios"],
        prerequisite_skills=["division"],
        expected_outcomes=["Add two fractions"],
        activity_type="oucontent",
        week_from=2,
        week_to=3,
    )
    item.prerequisites.add(first)

    for user in (school.student, school.teacher, school.admin):
        # when
        body = client_for(user).get(item_url(item)).json()

        # then
        assert {name: body[name] for name in list(body)[9:]} == {
            "difficulty": "intermediate",
            "difficulty_source": "derived",
            "tags": ["fractions", "ratios"],
            "prerequisites": [first.pk],
            "prerequisite_skills": ["division"],
            "expected_outcomes": ["Add two fractions"],
            "activity_type": "oucontent",
            "week_from": 2,
            "week_to": 3,
        }, user.username
    # a teacher of another class: 404, as a missing item
    assert client_for(school.other_teacher).get(item_url(item)).status_code == 404


def test_item_list_reads_prerequisites_in_a_fixed_number_of_queries(school: School) -> None:
    client = client_for(school.teacher)
    url = f"/api/v1/courses/{school.course.pk}/items/"

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    # given: one item, then six more, each needing the ones before it
    few = queries()
    previous = [school.item]
    for _ in range(6):
        item = LearningItemFactory.create(module=school.item.module)
        item.prerequisites.set(previous)
        previous.append(item)

    # when / then
    assert queries() == few
    rows = client.get(url).json()["results"]
    assert sorted(len(row["prerequisites"]) for row in rows) == list(range(7))


# SECTION: writing


def full_body(school: School, prerequisite: LearningItem) -> dict[str, Any]:
    return {
        "difficulty": "advanced",
        "tags": [" fractions ", "ratios"],
        "prerequisites": [prerequisite.pk],
        "prerequisite_skills": ["division"],
        "expected_outcomes": ["Add two fractions, with unlike denominators"],
        "activity_type": "oucontent",
        "week_from": 2,
        "week_to": 3,
    }


def test_teacher_of_the_class_writes_what_an_item_knows(school: School) -> None:
    # given
    first = LearningItemFactory.create(module=school.item.module)

    # when
    response = client_for(school.teacher).patch(item_url(school.item), full_body(school, first), format="json")

    # then: stored trimmed, the difficulty as the teacher's
    assert response.status_code == 200, response.content
    item = LearningItem.objects.get(pk=school.item.pk)
    assert (item.difficulty, item.difficulty_source, item.tags) == ("advanced", "set", ["fractions", "ratios"])
    assert list(item.prerequisites.all()) == [first]
    assert (item.prerequisite_skills, item.activity_type, item.week_from, item.week_to) == (
        ["division"],
        "oucontent",
        2,
        3,
    )
    assert response.json()["prerequisites"] == [first.pk]
    assert response.json()["difficulty_source"] == "set"

    # when: prerequisites replaced by none, the difficulty cleared
    cleared = client_for(school.teacher).patch(
        item_url(school.item), {"prerequisites": [], "difficulty": ""}, format="json"
    )

    # then: the item goes back to derivation
    assert cleared.status_code == 200, cleared.content
    item.refresh_from_db()
    assert (item.difficulty, item.difficulty_source, list(item.prerequisites.all())) == ("", "", [])


def test_a_difficulty_given_equal_to_the_derived_one_becomes_the_persons(school: School) -> None:
    LearningItem.objects.filter(pk=school.item.pk).update(difficulty="beginner", difficulty_source="derived")
    response = client_for(school.teacher).patch(item_url(school.item), {"difficulty": "beginner"}, format="json")
    assert response.status_code == 200
    school.item.refresh_from_db()
    assert school.item.difficulty_source == "set"


def test_items_are_created_with_what_they_know(school: School) -> None:
    response = client_for(school.teacher).post(
        f"/api/v1/courses/{school.course.pk}/items/",
        {
            "module": school.item.module_id,
            "kind": "video",
            "title": "Fractions explained",
            **full_body(school, school.item),
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    created = LearningItem.objects.get(pk=response.json()["id"])
    assert (created.difficulty, created.difficulty_source, created.week_to) == ("advanced", "set", 3)
    assert list(created.prerequisites.all()) == [school.item]


def test_administrator_names_prerequisites_of_any_class_of_the_school(school: School) -> None:
    response = client_for(school.admin).patch(
        item_url(school.item), {"prerequisites": [school.other_item.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert list(school.item.prerequisites.all()) == [school.other_item]


def test_other_teachers_get_404_and_students_403(school: School) -> None:
    body = {"tags": ["mine"]}
    other = client_for(school.other_teacher).patch(item_url(school.item), body, format="json")
    assert (other.status_code, other.json()) == (404, {"detail": "Not found."})
    assert client_for(school.student).patch(item_url(school.item), body, format="json").status_code == 403
    assert client_for(school.foreign_admin).patch(item_url(school.item), body, format="json").status_code == 404
    school.item.refresh_from_db()
    assert school.item.tags == []


def test_each_bad_input_is_a_400_naming_its_field(school: School) -> None:
    teacher = client_for(school.teacher)
    foreign_item = LearningItemFactory.create(module=ModuleFactory.create(course=school.foreign_course))
    cases: list[tuple[dict[str, Any], str, list[str]]] = [
        ({"tags": [f"tag {n}" for n in range(21)]}, "tags", ["At most 20 tags."]),
        ({"tags": ["x" * 65]}, "tags", ["Tag 1 is longer than 64 characters."]),
        ({"tags": ["ok", "   "]}, "tags", ["Tag 2 is empty."]),
        ({"tags": ["Algebra", "algebra "]}, "tags", ["Given twice: algebra."]),
        ({"tags": "algebra"}, "tags", ["A list of tags (strings) is required."]),
        ({"tags": [7]}, "tags", ["Tag 1 is not a string."]),
        ({"tags": ["a\x00b"]}, "tags", ["Tag 1: Null characters are not allowed."]),
        ({"prerequisite_skills": ["a", "A"]}, "prerequisite_skills", ["Given twice: A."]),
        ({"expected_outcomes": [f"o{n}" for n in range(11)]}, "expected_outcomes", ["At most 10 outcomes."]),
        ({"expected_outcomes": ["x" * 301]}, "expected_outcomes", ["Outcome 1 is longer than 300 characters."]),
        ({"difficulty": "expert"}, "difficulty", ["difficulty must be one of: beginner, intermediate, advanced."]),
        ({"week_from": -1}, "week_from", ["Ensure this value is greater than or equal to 0."]),
        ({"week_from": 5, "week_to": 4}, "week_to", ["Must not be before week_from (5)."]),
        ({"activity_type": "x" * 33}, "activity_type", ["Ensure this field has no more than 32 characters."]),
        # prerequisites: another school's item, another class's (not the teacher's), none, itself, twice, not ids
        (
            {"prerequisites": [foreign_item.pk]},
            "prerequisites",
            [f"No item with id {foreign_item.pk} that you may name here."],
        ),
        (
            {"prerequisites": [school.other_item.pk]},
            "prerequisites",
            [f"No item with id {school.other_item.pk} that you may name here."],
        ),
        ({"prerequisites": [MISSING_ID]}, "prerequisites", [f"No item with id {MISSING_ID} that you may name here."]),
        ({"prerequisites": [school.item.pk]}, "prerequisites", ["An item cannot be its own prerequisite."]),
        ({"prerequisites": [1, 1]}, "prerequisites", ["Given twice: 1."]),
        ({"prerequisites": ["1"]}, "prerequisites", ["A list of ids (whole numbers) is required."]),
        ({"prerequisites": [True]}, "prerequisites", ["A list of ids (whole numbers) is required."]),
        ({"prerequisites": list(range(1, 22))}, "prerequisites", ["At most 20 items."]),
    ]
    for body, field, messages in cases:
        response = teacher.patch(item_url(school.item), body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()[field] == messages, response.json()
    # then: nothing changed
    school.item.refresh_from_db()
    assert (school.item.tags, school.item.difficulty, school.item.week_from) == ([], "", None)
    assert list(school.item.prerequisites.all()) == []


def test_week_to_is_checked_against_the_stored_week_from(school: School) -> None:
    LearningItem.objects.filter(pk=school.item.pk).update(week_from=6)
    response = client_for(school.teacher).patch(item_url(school.item), {"week_to": 5}, format="json")
    assert response.status_code == 400
    assert response.json()["week_to"] == ["Must not be before week_from (6)."]


def test_prerequisites_never_close_a_cycle(school: School) -> None:
    # given: c needs b, b needs a (= school.item)
    a = school.item
    b = LearningItemFactory.create(module=a.module)
    c = LearningItemFactory.create(module=a.module)
    b.prerequisites.add(a)
    c.prerequisites.add(b)
    teacher = client_for(school.teacher)

    # when: a is to need b (a cycle of two) or c (of three)
    for needed in (b, c):
        response = teacher.patch(item_url(a), {"prerequisites": [needed.pk]}, format="json")

        # then
        assert response.status_code == 400
        assert response.json()["prerequisites"] == [
            f"Item {needed.pk} needs this item first (directly or through others): that would make a cycle."
        ]
    assert list(a.prerequisites.all()) == []
    # a chain that does not lead back is fine
    d = LearningItemFactory.create(module=a.module)
    assert teacher.patch(item_url(c), {"prerequisites": [b.pk, d.pk]}, format="json").status_code == 200


# SECTION: Django admin


def operator_client() -> Client:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    return client


def admin_body(item: LearningItem, **overrides: Any) -> dict[str, Any]:
    body = {
        "module": item.module_id,
        "kind": item.kind,
        "title": item.title,
        "position": item.position,
        "max_points": item.max_points,
        "due_at_0": "2026-09-08",
        "due_at_1": "17:00:00",
        "estimated_minutes": item.estimated_minutes,
        "difficulty": "",
        "tags": "",
        "prerequisites": [],
        "prerequisite_skills": "",
        "expected_outcomes": "",
        "week_from": "",
        "week_to": "",
        "activity_type": "",
        "external_source": "",
        "external_id": "",
    }
    return {**body, **overrides}


def test_admin_change_form_shows_and_saves_what_an_item_knows(school: School) -> None:
    client = operator_client()
    url = f"/admin/classroom/learningitem/{school.item.pk}/change/"
    first = LearningItemFactory.create(module=school.item.module, title="Fractions")

    # given: the form shows the fields
    page = client.get(url).content.decode()
    for name in ("difficulty", "tags", "prerequisites", "prerequisite_skills", "expected_outcomes", "week_to"):
        assert f'name="{name}"' in page, name

    # when
    response = client.post(
        url,
        admin_body(
            school.item,
            difficulty="beginner",
            tags="fractions, ratios",
            prerequisites=[first.pk],
            expected_outcomes="Add fractions, even unlike ones\nCompare ratios",
            week_from="1",
            week_to="2",
        ),
    )

    # then: saved, the difficulty as a person's; outcomes one per line (a comma stays inside one)
    assert response.status_code == 302, response.content.decode()[:3000]
    item = LearningItem.objects.get(pk=school.item.pk)
    assert (item.difficulty, item.difficulty_source, item.tags) == ("beginner", "set", ["fractions", "ratios"])
    assert item.expected_outcomes == ["Add fractions, even unlike ones", "Compare ratios"]
    assert (item.week_from, item.week_to, list(item.prerequisites.all())) == (1, 2, [first])
    assert "Set by a person" in client.get(url).content.decode()


def test_admin_refuses_what_the_api_refuses(school: School) -> None:
    client = operator_client()
    url = f"/admin/classroom/learningitem/{school.item.pk}/change/"
    foreign_item = LearningItemFactory.create(module=ModuleFactory.create(course=school.foreign_course))
    needing = LearningItemFactory.create(module=school.item.module)
    needing.prerequisites.add(school.item)

    def errors(**overrides: Any) -> dict[str, list[str]]:
        response = client.post(url, admin_body(school.item, **overrides))
        assert response.status_code == 200  # the form again
        return dict(response.context["adminform"].form.errors)

    assert errors(week_from="3", week_to="2") == {"week_to": ["Must not be before week_from (3)."]}
    assert errors(tags="Algebra, algebra") == {"tags": ["Given twice: algebra."]}
    assert errors(expected_outcomes="\n".join(f"o{n}" for n in range(11))) == {
        "expected_outcomes": ["At most 10 outcomes."]
    }
    # another school's item is not even offered; a cycle is refused by the service
    assert "prerequisites" in errors(prerequisites=[foreign_item.pk])
    assert errors(prerequisites=[needing.pk]) == {
        "prerequisites": [
            f"Item {needing.pk} needs this item first (directly or through others): that would make a cycle."
        ]
    }
    # a new item naming another school's item
    added = client.post(
        "/admin/classroom/learningitem/add/", admin_body(school.item, title="New", prerequisites=[foreign_item.pk])
    )
    assert added.status_code == 200
    assert added.context["adminform"].form.errors == {
        "prerequisites": [f"No item with id {foreign_item.pk} that you may name here."]
    }


def test_admin_leaves_the_source_of_an_unchanged_difficulty(school: School) -> None:
    # given: a derived difficulty
    LearningItem.objects.filter(pk=school.item.pk).update(difficulty="advanced", difficulty_source="derived")

    # when: the item is saved with another field changed
    response = operator_client().post(
        f"/admin/classroom/learningitem/{school.item.pk}/change/",
        admin_body(school.item, title="Renamed", difficulty="advanced"),
    )

    # then: still derived, so derivation may keep it current
    assert response.status_code == 302
    school.item.refresh_from_db()
    assert (school.item.title, school.item.difficulty_source) == ("Renamed", "derived")
