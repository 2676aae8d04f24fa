"""Learning paths in analytics' progress-tracking figures (added through analytics.hooks.on_path_progress)."""

from datetime import timedelta

from recommendations.paths import path_progress_refresh
from tests.conftest import School, client_for
from tests.factories import SubmissionFactory
from tests.recommendations.goal_fixtures import NOW, Paths, paths  # noqa: F401 - fixture

URL = "/api/v1/analytics/progress-tracking"


def test_progress_tracking_shows_the_students_paths_as_each_viewer_may_see_them(school: School, paths: Paths) -> None:  # noqa: F811
    SubmissionFactory.create(item=paths.a, student=school.student, submitted_at=NOW - timedelta(days=1))
    path_progress_refresh(student_ids=[school.student.pk], now=NOW)

    own = client_for(school.student).get(URL).json()["learning_paths"]
    # the student's classes hold every item of both paths: "Algebra then history" (a, b, c of MATH-1; d of HIST-1,
    # which the student does not attend) lies partly outside them, so only "Algebra basics" (a, b) is listed
    by_title = {row["title"]: row for row in own}
    assert by_title["Algebra basics"]["steps_completed"] == 1
    assert by_title["Algebra basics"]["steps_total"] == 2
    assert by_title["Algebra basics"]["progress_percent"] == 50.0

    # the teacher of MATH-1 sees the same path (wholly in their class); another teacher sees none of it
    teacher = client_for(school.teacher).get(URL, {"student": school.student.pk}).json()["learning_paths"]
    assert [row["title"] for row in teacher] == [row["title"] for row in own]
    assert client_for(school.other_teacher).get(URL, {"student": school.student.pk}).status_code == 404
