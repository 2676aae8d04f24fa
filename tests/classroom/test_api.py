"""What each role gets back from the classroom endpoints: the right rows, the right figures."""

from datetime import UTC, datetime

from rest_framework.test import APIClient

from classroom.models import Enrollment
from tests.conftest import School, client_for
from tests.factories import EnrollmentFactory, LearningItemFactory, ModuleFactory, StudentFactory


def codes(response) -> list[str]:
    return sorted(row["code"] for row in response.json()["results"])


def test_course_list_is_scoped_per_role(school: School) -> None:
    assert codes(client_for(school.student).get("/api/v1/courses/")) == ["MATH-1"]
    assert codes(client_for(school.teacher).get("/api/v1/courses/")) == ["MATH-1"]
    assert codes(client_for(school.other_teacher).get("/api/v1/courses/")) == ["HIST-1"]
    assert codes(client_for(school.admin).get("/api/v1/courses/")) == ["HIST-1", "MATH-1"]
    assert codes(client_for(school.foreign_admin).get("/api/v1/courses/")) == ["MATH-1"]


def test_course_counts_active_students_only(school: School) -> None:
    # given a student who dropped the class
    EnrollmentFactory.create(
        course=school.course,
        user=StudentFactory.create(organization=school.organization),
        status=Enrollment.Status.DROPPED,
        ended_at=datetime(2026, 10, 1, tzinfo=UTC),
    )
    # when the teacher reads the course
    body = client_for(school.teacher).get(f"/api/v1/courses/{school.course.pk}/").json()
    # then only the two active students count
    assert body["students_count"] == 2
    assert body["modules_count"] == 1


def test_dropped_student_no_longer_sees_the_class(school: School) -> None:
    enrollment = Enrollment.objects.get(user=school.student, course=school.course)
    enrollment.status, enrollment.ended_at = Enrollment.Status.DROPPED, datetime(2026, 10, 1, tzinfo=UTC)
    enrollment.save()
    assert client_for(school.student).get(f"/api/v1/courses/{school.course.pk}/").status_code == 404
    # the teacher still sees the dropped student's record
    assert client_for(school.teacher).get(f"/api/v1/users/{school.student.pk}/").status_code == 200


def test_course_filters(school: School) -> None:
    admin = client_for(school.admin)
    assert codes(admin.get("/api/v1/courses/", {"code": "hist-1"})) == ["HIST-1"]
    assert codes(admin.get("/api/v1/courses/", {"search": "hist"})) == ["HIST-1"]
    assert codes(admin.get("/api/v1/courses/", {"active_on": "2026-10-01"})) == ["HIST-1", "MATH-1"]
    assert codes(admin.get("/api/v1/courses/", {"active_on": "2027-03-01"})) == []


def test_student_sees_own_enrollment_and_teachers_never_classmates(school: School) -> None:
    rows = client_for(school.student).get(f"/api/v1/courses/{school.course.pk}/enrollments/").json()["results"]
    assert sorted((row["user"]["username"], row["role"]) for row in rows) == [
        ("student", "student"),
        ("teacher", "teacher"),
    ]


def test_teacher_sees_whole_class_and_can_filter(school: School) -> None:
    client = client_for(school.teacher)
    url = f"/api/v1/courses/{school.course.pk}/enrollments/"
    everyone = client.get(url).json()
    assert everyone["count"] == 3
    students = client.get(url, {"role": "student"}).json()["results"]
    assert sorted(row["user"]["username"] for row in students) == ["classmate", "student"]


def test_items_of_a_course_with_filters(school: School) -> None:
    module = ModuleFactory.create(course=school.course, position=9)
    LearningItemFactory.create(module=module, kind="video", max_points=None, due_at=None, title="Intro video")
    client = client_for(school.student)
    url = f"/api/v1/courses/{school.course.pk}/items/"
    assert client.get(url).json()["count"] == 2
    videos = client.get(url, {"kind": "video"}).json()["results"]
    assert [row["title"] for row in videos] == ["Intro video"]
    assert videos[0]["course"] == school.course.pk
    assert videos[0]["module"]["position"] == 9
    graded = client.get(url, {"graded": "true"}).json()["results"]
    assert [row["id"] for row in graded] == [school.item.pk]


def test_user_search_and_role_filter_for_admin(school: School) -> None:
    client = client_for(school.admin)
    found = client.get("/api/v1/users/", {"search": "other_"}).json()["results"]
    assert sorted(row["username"] for row in found) == ["other_student", "other_teacher"]
    teachers = client.get("/api/v1/users/", {"role": "teacher"}).json()
    assert sorted(row["username"] for row in teachers["results"]) == ["other_teacher", "teacher"]
    # another organisation's people never appear
    assert "foreign_student" not in {
        row["username"] for row in client.get("/api/v1/users/", {"limit": 100}).json()["results"]
    }


def test_user_list_paginates_with_limit_and_offset(school: School) -> None:
    client = client_for(school.admin)
    page = client.get("/api/v1/users/", {"limit": 2, "offset": 1}).json()
    assert page["count"] == 6
    assert [row["username"] for row in page["results"]] == ["classmate", "other_student"]
    assert client.get("/api/v1/users/", {"limit": 100}).json()["count"] == 6


def test_teacher_profile_figures(school: School) -> None:
    body = client_for(school.admin).get(f"/api/v1/users/{school.teacher.pk}/").json()
    assert body["teacher_stats"] == {
        "total_classes": 1,
        "total_students": 2,
        "classes": [{"id": school.course.pk, "code": "MATH-1", "title": school.course.title}],
    }
    assert body["student_stats"] is None


def test_student_profile_shows_only_enrollments_the_viewer_may_see(school: School) -> None:
    # given the student also attends another teacher's class
    EnrollmentFactory.create(user=school.student, course=school.other_course)
    # then the admin sees both enrolments, the student's teacher only theirs
    admin_view = client_for(school.admin).get(f"/api/v1/users/{school.student.pk}/").json()["student_stats"]
    teacher_view = client_for(school.teacher).get(f"/api/v1/users/{school.student.pk}/").json()["student_stats"]
    assert admin_view["total_enrollments"] == 2
    assert teacher_view["total_enrollments"] == 1
    assert teacher_view["enrollments"][0]["course"]["code"] == "MATH-1"


def test_me_describes_the_caller(school: School) -> None:
    body = client_for(school.student).get("/api/v1/me/").json()
    assert body["username"] == "student"
    assert body["role"] == "student"
    assert body["organization"]["slug"] == "northfield"
    assert body["public_handle"].startswith("learner-")


def test_admin_sees_only_own_school(school: School) -> None:
    body = client_for(school.admin).get("/api/v1/schools/").json()
    assert [row["slug"] for row in body["results"]] == ["northfield"]
    assert body["results"][0]["users_count"] == 6
    assert body["results"][0]["courses_count"] == 2


def test_inactive_user_sees_nothing(school: School) -> None:
    school.teacher.is_active = False
    school.teacher.save()
    client = APIClient()
    client.force_authenticate(school.teacher)
    # Authentication refuses inactive users (tests/accounts); should one slip through, the selectors show nothing.
    assert client.get("/api/v1/courses/").json()["count"] == 0
    assert client.get(f"/api/v1/users/{school.student.pk}/").status_code == 404
