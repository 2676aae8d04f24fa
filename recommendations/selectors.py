"""Reads for recommendations: a class's views for the engine, and the recommendations a viewer may see."""

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Avg, Count, Q, QuerySet

from classroom.models import Course, LearningItem
from recommendations.engine import CourseViews
from recommendations.models import Recommendation

# Days are ordinals (date.toordinal()) in the engine: Postgres' date difference from 0001-01-01, plus one.
ORDINAL_SQL = "(day - DATE '0001-01-01') + 1"


def course_items(course_id: int) -> list[dict[str, Any]]:
    """The class's items in id order, with what the engine and the reasoning need."""
    rows = (
        LearningItem.objects.filter(module__course_id=course_id)
        .order_by("id")
        .values(
            "id",
            "title",
            "kind",
            "activity_type",
            "week_from",
            "module_id",
            "module__title",
            "due_at",
            "estimated_minutes",
            "difficulty",
            "tags",
            "expected_outcomes",
            "prerequisite_skills",
        )
    )
    return [dict(row) for row in rows]


def course_views(*, course: Course, student_ids: list[int], items: list[dict[str, Any]], until: date) -> CourseViews:
    """Every view (StudentItemDay "viewed") of the class's items by these students before `until`, as the engine's
    index arrays. One query; rows arrive as integers only."""
    students = np.array(sorted(set(student_ids)), dtype=np.int64)
    item_ids = np.array([item["id"] for item in items], dtype=np.int64)
    views = CourseViews(
        course_id=course.pk,
        student_ids=students,
        item_ids=item_ids,
        item_types=[item["activity_type"] or item["kind"] for item in items],
        item_weeks=np.array([-1 if item["week_from"] is None else item["week_from"] for item in items], np.float32),
        start_day=course.start_date.toordinal() if course.start_date else None,
    )
    if not len(students) or not len(item_ids):
        return views
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT student_id, item_id, {ORDINAL_SQL} FROM analytics_studentitemday "  # noqa: S608 (constant SQL)
            "WHERE course_id = %s AND kind = 'viewed' AND day < %s AND student_id = ANY(%s)",
            [course.pk, until, list(map(int, students))],
        )
        rows = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 3)
    known = np.isin(rows[:, 1], item_ids)
    rows = rows[known]
    views.student_index = np.searchsorted(students, rows[:, 0]).astype(np.int32)
    views.item_index = np.searchsorted(item_ids, rows[:, 1]).astype(np.int32)
    views.days = rows[:, 2].astype(np.int32)
    return views


def active_for(student_id: int) -> QuerySet[Recommendation]:
    return Recommendation.objects.filter(student_id=student_id, status=Recommendation.Status.ACTIVE)


def recommendations_for(
    *,
    student_id: int,
    category: str | None = None,
    limit: int = 10,
    include_history: bool = False,
    course_ids: Any = None,
) -> list[Recommendation]:
    """The student's active next steps, by class and rank (or, for staff, also what became of earlier ones, newest
    first); `course_ids` limits them to those classes (a teacher's)."""
    queryset = Recommendation.objects.filter(student_id=student_id).select_related("feedback")
    if course_ids is not None:
        queryset = queryset.filter(course_id__in=course_ids)
    if not include_history:
        queryset = queryset.filter(status=Recommendation.Status.ACTIVE)
    if category:
        queryset = queryset.filter(category=category)
    order = ["rank", "id"] if not include_history else ["-created_at", "rank", "id"]
    return list(queryset.order_by(*order)[:limit])


# Signals that put a step before the ranked ones: work due soon and the current step of a learning path.
FIRST_SIGNALS = ("due_soon", "path_next")


def best_first(found: Sequence[Recommendation]) -> list[Recommendation]:
    """A student's next steps across classes in the order the API and the pages list them: work due soon and path
    steps first (in their class's order), then the rest by relevance (ties: the class's rank)."""

    def order(rec: Recommendation) -> tuple[int, float, int, int]:
        first = bool(rec.signals) and rec.signals[0].get("kind") in FIRST_SIGNALS
        return (0 if first else 1, 0.0 if first else -rec.relevance_score, rec.rank, rec.pk)

    return sorted(found, key=order)


def recently_declined(*, student_ids: list[int], since: Any) -> set[tuple[int, int]]:
    """(student, item) pairs a student dismissed or rated down since `since`: not suggested again for a while."""
    rows = Recommendation.objects.filter(student_id__in=student_ids, item__isnull=False).filter(
        Q(dismissed_at__gte=since)
        | Q(feedback__updated_at__gte=since, feedback__rating__lte=2)
        | Q(feedback__updated_at__gte=since, feedback__verdict__in=["not_helpful", "irrelevant"])
    )
    return set(rows.values_list("student_id", "item_id"))


def class_feedback(course_id: int) -> dict[int, float]:
    """Per item of a class, the mean rating classmates gave its recommendations (at least 3 ratings)."""
    rows = (
        Recommendation.objects.filter(course_id=course_id, item__isnull=False, feedback__rating__isnull=False)
        .values("item_id")
        .annotate(mean=Avg("feedback__rating"), n=Count("id"))
        .filter(n__gte=3)
    )
    return {row["item_id"]: float(row["mean"]) for row in rows}
