"""The OULAD importer fills in what items know of their source: the VLE's activity type and planned weeks, an
assessment's type and the week it is due; a database imported before these fields existed gets them on a re-run,
and a value already there stays. Against the real development copy (one presentation, without its click files)."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.importers.oulad import oulad_import
from classroom.models import Course, LearningItem
from classroom.services import ItemSchedule, learning_items_schedule_fill
from tests.factories import LearningItemFactory

OULAD = Path(settings.BASE_DIR).parent / "shared/datasets/oulad"
# The one presentation whose VLE plans sites over more than one week (week_to after week_from) for some of them.
MODULE, PRESENTATION = "CCC", "2014B"
NOW = datetime(2025, 1, 1, tzinfo=UTC)
TABLES = ("courses", "vle", "assessments", "studentRegistration", "studentInfo", "studentAssessment")

pytestmark = [
    pytest.mark.skipif(not OULAD.is_dir(), reason=f"OULAD development copy not found at {OULAD}"),
    pytest.mark.django_db,
]


@pytest.fixture
def without_clicks(tmp_path: Path) -> Path:
    """The copy's tables without studentVle_ds: the import skips clicks, which these fields do not need."""
    for name in TABLES:
        (tmp_path / f"{name}.parquet").symlink_to(OULAD / f"{name}.parquet")
    return tmp_path


def _subset(name: str) -> Any:
    table = pq.read_table(OULAD / f"{name}.parquet")
    return table.filter(
        pc.and_(pc.equal(table["code_module"], MODULE), pc.equal(table["code_presentation"], PRESENTATION))
    )


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def expected_fields() -> dict[str, tuple[str, int | None, int | None]]:
    """external_id → (activity_type, week_from, week_to), from the source: a VLE site's own; an assessment's type
    and the week of its due day (days 0-6 are week 1, earlier ones week 0; undated: none)."""
    vle = _subset("vle").to_pylist()
    expected = {
        str(int(row["id_site"])): (row["activity_type"], _int(row["week_from"]), _int(row["week_to"])) for row in vle
    }
    for row in _subset("assessments").to_pylist():
        offset = _int(row["date"])
        week = None if offset is None else (offset // 7 + 1 if offset >= 0 else 0)
        expected[f"assessment-{int(row['id_assessment'])}"] = (row["assessment_type"], week, week)
    return expected


def stored_fields(course: Course) -> dict[str, tuple[str, int | None, int | None]]:
    return {
        external_id: (activity_type, week_from, week_to)
        for external_id, activity_type, week_from, week_to in LearningItem.objects.filter(
            module__course=course
        ).values_list("external_id", "activity_type", "week_from", "week_to")
    }


def test_import_fills_activity_type_and_weeks_from_the_source(without_clicks: Path) -> None:
    # given
    expected = expected_fields()
    # the slice holds what the test is about: sites planned over several weeks, sites without a plan, an exam
    assert any(week_to is not None and week_from != week_to for _, week_from, week_to in expected.values())
    assert any(week_from is None for _, week_from, _ in expected.values())

    # when
    oulad_import(path=without_clicks, modules={MODULE}, presentations={PRESENTATION}, rollups=False, now=NOW)

    # then
    course = Course.objects.get(external_source="oulad", external_id=f"{MODULE}-{PRESENTATION}")
    assert stored_fields(course) == expected
    # the activity type is kept beside the kind it folds into
    forum = LearningItem.objects.filter(module__course=course, activity_type="forumng").first()
    assert forum is not None and forum.kind == "resource"


def test_a_rerun_fills_in_items_imported_before_the_fields_existed(without_clicks: Path) -> None:
    # given: an import whose items lack the fields (as a database imported before them), and one item a person
    # planned differently since
    oulad_import(path=without_clicks, modules={MODULE}, presentations={PRESENTATION}, rollups=False, now=NOW)
    course = Course.objects.get(external_source="oulad", external_id=f"{MODULE}-{PRESENTATION}")
    items = LearningItem.objects.filter(module__course=course)
    items.update(activity_type="", week_from=None, week_to=None)
    edited = items.order_by("pk").first()
    assert edited is not None
    LearningItem.objects.filter(pk=edited.pk).update(week_from=30, week_to=31)

    # when
    oulad_import(path=without_clicks, modules={MODULE}, presentations={PRESENTATION}, rollups=False, now=NOW)

    # then: filled in from the source, the person's weeks kept (and the blank type filled)
    expected = expected_fields()
    assert stored_fields(course) == {
        **expected,
        edited.external_id: (expected[edited.external_id][0], 30, 31),
    }


def test_filling_in_is_one_read_and_one_update_per_batch() -> None:
    # given: items without the fields, and one that has them already
    items = [LearningItemFactory.create() for _ in range(12)]
    kept = LearningItemFactory.create(activity_type="quiz", week_from=1, week_to=1)
    found = {item.pk: ItemSchedule("resource", 3, 4) for item in items}
    found[kept.pk] = ItemSchedule("page", 2, 2)

    # when
    with CaptureQueriesContext(connection) as captured:
        changed = learning_items_schedule_fill(found=found)

    # then
    assert changed == 12
    assert len(captured) == 2
    assert set(
        LearningItem.objects.filter(pk__in=[i.pk for i in items]).values_list("activity_type", "week_from", "week_to")
    ) == {("resource", 3, 4)}
    kept.refresh_from_db()
    assert (kept.activity_type, kept.week_from, kept.week_to) == ("quiz", 1, 1)
    # a second run changes nothing
    assert learning_items_schedule_fill(found=found) == 0
