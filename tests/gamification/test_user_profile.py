"""Seed 001's GET /users/{id}: a student's profile carries their XP total (gamification's figure, which classroom
shows through classroom.hooks without importing gamification)."""

from typing import Any

from django.test import Client

from tests.analytics import test_metrics
from tests.conftest import School, client_for

activity = test_metrics.activity  # the student earns 2 + 20 XP, the classmate 10 + 5


def student_stats(viewer: Any, student: Any) -> dict[str, Any]:
    response = client_for(viewer).get(f"/api/v1/users/{student.pk}/")
    assert response.status_code == 200, response.content
    return dict(response.json()["student_stats"])


def test_a_students_profile_has_their_xp_total(school: School, activity: Any) -> None:
    # the same total for everyone who may see the profile: the student, their teacher, the administrator
    for viewer in (school.student, school.teacher, school.admin):
        assert student_stats(viewer, school.student)["total_xp"] == 22
    assert student_stats(school.teacher, school.classmate)["total_xp"] == 15
    # a student without XP has 0; a teacher's profile has no student figures at all
    assert student_stats(school.admin, school.other_student)["total_xp"] == 0
    assert client_for(school.admin).get(f"/api/v1/users/{school.teacher.pk}/").json()["student_stats"] is None


def test_the_xp_total_is_typed_in_the_schema(db: None) -> None:
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    stats = schema["components"]["schemas"]["StudentStats"]
    assert stats["properties"]["total_xp"]["type"] == "integer"
    assert "total_xp" in stats["required"]
