"""A class synced from Google Classroom is an ordinary class: its dashboard, a prediction run and a report work for
it with no special case (through the fake, the real client libraries and the real sync)."""

import csv
import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from classroom.models import Course, Enrollment, Submission
from google_classroom.models import Connection
from google_classroom.services import connection_client
from google_classroom.sync import SOURCE, connection_sync
from reports.models import ReportDefinition
from reports.services import definition_create, file_path, run_execute, run_request
from reports.specs import spec_from
from risk.models import Prediction
from risk.scoring import score
from tests.google_classroom.conftest import SYNC_AT
from tests.google_classroom.fake_google import FakeGoogle

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced(connection: Connection, google: FakeGoogle) -> Course:
    result = connection_sync(connection=connection, client=connection_client(connection), now=SYNC_AT)
    assert result["failed"] == 0
    return Course.objects.filter(external_source=SOURCE).order_by("pk").first()  # type: ignore[return-value]


def test_the_class_dashboard_shows_the_synced_class(synced: Course, teacher: User) -> None:
    browser = Client()
    browser.force_login(teacher)

    page = browser.get(f"/classes/{synced.pk}/dashboard/")

    assert page.status_code == 200
    text = page.content.decode()
    assert synced.title in text
    students = Enrollment.objects.active_students().filter(course=synced).count()
    assert students > 0 and str(students) in text


def test_a_prediction_run_scores_every_synced_student(synced: Course) -> None:
    # when: scored a week into the term (the course started when it was created in Classroom)
    assert synced.start_date is not None
    predictions = score(as_of=SYNC_AT - timedelta(days=30), course_ids=[synced.pk])

    # then: one prediction per active student, stored
    students = Enrollment.objects.active_students().filter(course=synced).count()
    assert len(predictions) == students > 0
    assert Prediction.objects.filter(course=synced).count() == students


def test_a_report_of_the_synced_class_holds_its_students_work(
    synced: Course, teacher: User, settings: Any, tmp_path: Path
) -> None:
    # given
    settings.REPORTS_STORAGE_DIR = tmp_path / "report-files"
    spec = spec_from(
        {"dataset": "student-progress", "parameters": {"course": synced.pk, "period": "90d"}}, viewer=teacher
    )
    definition = definition_create(
        owner=teacher, name="Synced class", description="", visibility=ReportDefinition.Visibility.PRIVATE, spec=spec
    )

    # when
    run = run_request(definition, fmt="csv", run_for=teacher, requested_by=teacher, enqueue=False)
    run_execute(run.pk)

    # then: a row per student of the class, with their work counted from the synced submissions
    run.refresh_from_db()
    written = file_path(run)
    assert written is not None
    rows = list(csv.DictReader(io.StringIO(written.read_text(encoding="utf-8-sig"))))
    students = Enrollment.objects.active_students().filter(course=synced).count()
    assert len(rows) == students > 0
    assert Submission.objects.filter(item__module__course=synced).exists()
