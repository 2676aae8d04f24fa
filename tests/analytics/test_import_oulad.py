"""The OULAD importer against the real development copy (one small presentation), not invented rows."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import IntegerField, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from accounts.models import Organization, User
from analytics.importers.oulad import at_noon, oulad_import
from analytics.models import LearningEvent, StudentDailyRollup
from classroom.models import Course, Enrollment, LearningItem, Submission

OULAD = Path(settings.BASE_DIR).parent / "shared/datasets/oulad"
# The smallest click partition of the copy (~181k rows, ~150k distinct student x site x day).
MODULE, PRESENTATION = "AAA", "2013J"
NOW = datetime(2025, 1, 1, tzinfo=UTC)

pytestmark = pytest.mark.skipif(not OULAD.is_dir(), reason=f"OULAD development copy not found at {OULAD}")


def _subset(name: str) -> "pq.Table":
    table = pq.read_table(OULAD / f"{name}.parquet")
    return table.filter(
        pc.and_(pc.equal(table["code_module"], MODULE), pc.equal(table["code_presentation"], PRESENTATION))
    )


def _counts() -> dict[str, int]:
    return {
        "courses": Course.objects.count(),
        "items": LearningItem.objects.count(),
        "students": User.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "submissions": Submission.objects.count(),
        "events": LearningEvent.objects.count(),
    }


@pytest.mark.django_db
def test_import_of_one_presentation_matches_the_source_and_is_idempotent() -> None:
    # given: what the source holds for AAA-2013J
    vle = _subset("vle")
    assessments = _subset("assessments")
    registrations = _subset("studentRegistration")
    submissions = pq.read_table(OULAD / "studentAssessment.parquet")
    submissions = submissions.filter(pc.is_in(submissions["id_assessment"], value_set=assessments["id_assessment"]))
    clicks = pq.read_table(
        OULAD / f"studentVle_ds/code_module={MODULE}/code_presentation={PRESENTATION}/part-0.parquet"
    )
    distinct_clicks = clicks.group_by(["id_student", "id_site", "date"]).aggregate([]).num_rows

    # when
    result = oulad_import(path=OULAD, modules={MODULE}, presentations={PRESENTATION}, now=NOW)

    # then: one row per source row, one event per distinct click day and per submission
    organization = Organization.objects.get(slug="oulad")
    assert organization.time_zone == "Europe/London"
    course = Course.objects.get(organization=organization, external_source="oulad", external_id="AAA-2013J")
    assert (course.title, str(course.start_date), str(course.end_date)) == (
        "OULAD AAA 2013J",
        "2013-10-01",
        "2014-06-26",  # + 268 days
    )
    assert LearningItem.objects.filter(module__course=course).count() == vle.num_rows + assessments.num_rows
    assert User.objects.filter(organization=organization, role="student").count() == len(
        pc.unique(registrations["id_student"])
    )
    enrollments = Enrollment.objects.filter(course=course)
    assert enrollments.count() == registrations.num_rows
    assert (
        enrollments.filter(status="dropped").count()
        == registrations.num_rows - registrations["date_unregistration"].null_count
    )
    assert Submission.objects.filter(item__module__course=course).count() == submissions.num_rows
    expected_events = distinct_clicks + submissions.num_rows
    assert LearningEvent.objects.filter(course=course).count() == expected_events
    assert result.events_added == expected_events
    clicks_stored = LearningEvent.objects.filter(course=course, action="material_view").aggregate(
        total=Sum(Cast(KeyTextTransform("clicks", "metadata"), IntegerField()))
    )
    assert clicks_stored["total"] == pc.sum(clicks["sum_click"]).as_py()
    # the rollups were rebuilt from exactly these events
    rolled_up = StudentDailyRollup.objects.filter(course=course).aggregate(total=Sum("events"))["total"]
    assert rolled_up == expected_events

    # when: imported again, through the command
    before = _counts()
    call_command("import_oulad", str(OULAD), modules=MODULE, presentations=PRESENTATION, no_rollups=True)

    # then: nothing new
    assert _counts() == before


@pytest.mark.django_db
def test_final_results_are_imported_and_a_rerun_fills_them_in() -> None:
    # given: what studentInfo and studentRegistration say of AAA-2013J
    info = _subset("studentInfo")
    expected = {
        f"oulad-{int(student)}": result.lower()
        for student, result in zip(info["id_student"].to_pylist(), info["final_result"].to_pylist(), strict=True)
    }
    registrations = _subset("studentRegistration")
    unregistered = {
        int(student): None if offset is None else int(offset)
        for student, offset in zip(
            registrations["id_student"].to_pylist(), registrations["date_unregistration"].to_pylist(), strict=True
        )
    }

    # when
    oulad_import(path=OULAD, modules={MODULE}, presentations={PRESENTATION}, rollups=False, now=NOW)

    # then: every enrolment has its result, dated
    course = Course.objects.get(external_id="AAA-2013J")
    enrollments = Enrollment.objects.filter(course=course).select_related("user")
    assert {e.user.username: e.final_result for e in enrollments} == expected
    end = datetime(2014, 6, 26, 11, 0, tzinfo=UTC)  # noon in London (summer time) on the last day
    for enrollment in enrollments:
        offset = unregistered[int(enrollment.user.username.removeprefix("oulad-"))]
        if enrollment.final_result == "withdrawn" and offset is not None:
            assert enrollment.result_at == at_noon(date(2013, 10, 1) + timedelta(days=offset))
        else:
            assert enrollment.result_at == end

    # when: a database imported before results existed (blank) is imported again; a result staff set is kept
    Enrollment.objects.filter(course=course).update(final_result="", result_at=None)
    kept = enrollments[0]
    Enrollment.objects.filter(pk=kept.pk).update(final_result="distinction", result_at=end)
    oulad_import(path=OULAD, modules={MODULE}, presentations={PRESENTATION}, rollups=False, now=NOW)

    # then
    refilled = {
        e.user.username: e.final_result for e in Enrollment.objects.filter(course=course).select_related("user")
    }
    assert refilled == {**expected, kept.user.username: "distinction"}
