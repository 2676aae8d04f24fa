"""An enrolment's final result (what the at-risk model learns from) set by administrators over the enrolment API."""

from datetime import UTC, datetime

from classroom.models import Enrollment
from tests.conftest import School, client_for


def test_administrators_record_and_clear_a_final_result(school: School) -> None:
    admin = client_for(school.admin)
    row = Enrollment.objects.get(user=school.student, course=school.course)
    reached = datetime(2026, 12, 18, 12, tzinfo=UTC)

    # when: ended as completed with a pass, in one request
    answer = admin.patch(
        f"/api/v1/enrollments/{row.pk}/",
        {"status": "completed", "final_result": "pass", "result_at": reached.isoformat()},
        format="json",
    )

    # then
    assert answer.status_code == 200, answer.content
    assert (answer.json()["final_result"], answer.json()["result_at"]) == ("pass", "2026-12-18T12:00:00Z")
    row.refresh_from_db()
    assert (row.status, row.final_result, row.result_at) == ("completed", "pass", reached)

    # when: the result is cleared (blank)
    assert admin.patch(f"/api/v1/enrollments/{row.pk}/", {"final_result": ""}, format="json").status_code == 200
    row.refresh_from_db()
    assert (row.final_result, row.result_at) == ("", None)


def test_bad_results_and_non_administrators_are_refused(school: School) -> None:
    row = Enrollment.objects.get(user=school.student, course=school.course)
    url = f"/api/v1/enrollments/{row.pk}/"
    admin = client_for(school.admin)

    unknown = admin.patch(url, {"final_result": "excellent"}, format="json")
    assert unknown.status_code == 400 and "final_result" in unknown.json()
    nothing = admin.patch(url, {}, format="json")
    assert nothing.status_code == 400 and "status" in nothing.json()
    undated = admin.patch(url, {"result_at": "2026-12-18T12:00:00Z"}, format="json")
    assert undated.status_code == 400 and "result_at" in undated.json()
    # a teacher sees the enrolment but does not write it; a student does not see it
    assert client_for(school.teacher).patch(url, {"final_result": "fail"}, format="json").status_code in (403, 404)
    assert client_for(school.student).patch(url, {"final_result": "fail"}, format="json").status_code in (403, 404)
    row.refresh_from_db()
    assert row.final_result == "" and row.status == "active"
