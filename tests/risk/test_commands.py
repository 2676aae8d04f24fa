"""train_risk_model and score_risk: bad input is refused with the reason and writes nothing; good input works."""

import csv
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from risk.models import ModelVersion, Prediction
from tests.factories import OrganizationFactory
from tests.risk.school import synthetic_class


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "options", "message"),
    [
        ("train_risk_model", {"as_of": "next tuesday"}, "'next tuesday' is not a date-time"),
        ("train_risk_model", {"as_of": "2026-13-40"}, "is not a date-time"),
        ("train_risk_model", {"organization": "nowhere"}, "No organisation with the slug 'nowhere'"),
        ("train_risk_model", {"as_of": "2026-01-01"}, "Too few labelled enrolments to train: 0"),
        ("score_risk", {"as_of": "yesterday"}, "'yesterday' is not a date-time"),
        ("score_risk", {"course": ["NOPE-1", "NOPE-2"]}, "No course with the code 'NOPE-1', 'NOPE-2'"),
        ("score_risk", {"csv": "/nonexistent-folder/out.csv"}, "the folder /nonexistent-folder does not exist"),
    ],
)
def test_bad_input_is_refused_with_the_reason_and_nothing_is_written(command, options, message) -> None:
    OrganizationFactory.create(slug="school")
    with pytest.raises(CommandError, match=message):
        call_command(command, **options)
    assert not ModelVersion.objects.exists() and not Prediction.objects.exists()


@pytest.mark.django_db
def test_score_risk_writes_the_csv_of_the_named_course(tmp_path: Path) -> None:
    # given: two running classes, no model (the rules score)
    organization = OrganizationFactory.create()
    wanted = synthetic_class(
        organization=organization, code="STAT-A", start=date(2026, 1, 5), students=5, results=False
    )
    synthetic_class(organization=organization, code="STAT-B", start=date(2026, 1, 5), students=4, seed=2, results=False)
    target = tmp_path / "risk.csv"

    # when
    call_command("score_risk", as_of="2026-02-09T00:00:00Z", course=["STAT-A"], csv=str(target))

    # then
    with target.open() as file:
        rows = list(csv.DictReader(file))
    assert set(rows[0]) == {"course_code", "username", "probability", "risk_level"}
    assert len(rows) == 5 and {row["course_code"] for row in rows} == {"STAT-A"}
    stored = {p.student.username: p.level for p in Prediction.objects.select_related("student")}
    assert {row["username"]: row["risk_level"] for row in rows} == stored
    assert all(row["probability"] == "" for row in rows)  # rules give no probability
    assert not list(tmp_path.glob("*.part"))
    assert wanted.course.pk == Prediction.objects.values_list("course_id", flat=True).distinct().get()
