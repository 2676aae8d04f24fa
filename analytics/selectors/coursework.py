"""One student's graded work (assignments and quizzes) in their active classes: what is due in the next days, what
is overdue, and per item their state and score beside the class average.

"Overdue" is the class dashboard's "missing" seen from the student's side, decided by the same rule
(analytics.selectors.assignments.counted_state): due, no hand-in (or one marked missing), not excused, and due after
the student enrolled; work due before they enrolled is never overdue for them. The class average is the class
dashboard's per-item average (AssignmentRow.average_score_percent): the latest scored hand-ins of the actively
enrolled students.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, NotRequired, TypedDict

from django.db.models import Exists, OuterRef

from analytics.selectors.assignments import GRADED_KINDS, counted_state
from classroom.models import Enrollment, LearningItem, Submission
from core.figures import mean, withhold_small_group

DUE_SOON_DAYS = 7
HANDED_IN = (Submission.State.ON_TIME, Submission.State.LATE)


class DueItem(TypedDict):
    """An assignment or quiz of one of the student's active classes."""

    item: int
    title: str
    kind: Annotated[str, "assignment or quiz."]
    course: int
    course_code: str
    course_title: str
    due_at: Annotated[datetime | None, "Empty for work without a due time."]
    state: Annotated[
        str | None, "The latest attempt: on_time, late, missing or excused; empty when nothing was handed in."
    ]


class GradeRow(DueItem):
    """One assignment or quiz: the student's state and score, and the class's average score."""

    module_title: str
    score_percent: Annotated[float | None, "The student's latest attempt's score, in percent."]
    class_average_percent: Annotated[
        float | None, "The mean score of the class's latest scored hand-ins, in percent (the class dashboard's)."
    ]
    class_scored: Annotated[int, "Actively enrolled students with a scored hand-in (the average's group)."]
    reason: NotRequired[Annotated[str, "Why the class average is withheld (too few scores, for students)."]]


class Coursework(TypedDict):
    """A student's assignments and quizzes in their active classes the requester may see."""

    student: int
    as_of: datetime
    due_soon_days: Annotated[int, "How many days ahead `due_soon` looks."]
    due_soon: Annotated[list[DueItem], "Due from now to `due_soon_days` days ahead, soonest first."]
    overdue: Annotated[
        list[DueItem],
        "Due, not handed in (or marked missing), not excused, and due after the student enrolled; oldest first.",
    ]
    grades: Annotated[list[GradeRow], "Every assignment and quiz of the classes, by class and due time."]


def _latest(rows: Iterable[tuple[Any, ...]]) -> dict[tuple[int, int], tuple[str, Decimal | None]]:
    """(item, student) → (state, score in percent) of the last attempt, from rows ordered by attempt."""
    latest: dict[tuple[int, int], tuple[str, Decimal | None]] = {}
    for item_id, student_id, state, score, maximum in rows:
        scored = Decimal(100) * score / maximum if score is not None and maximum else None
        latest[(item_id, student_id)] = (state, scored)
    return latest


def student_coursework(
    *, student_id: int, courses: Any, now: datetime, peer_minimum: int, due_soon_days: int = DUE_SOON_DAYS
) -> Coursework:
    """The student's assignments and quizzes in `courses` (already scoped to the viewer) where they are actively
    enrolled: due within `due_soon_days`, overdue, and each with their state, score and the class average
    (withheld when fewer than `peer_minimum` students have a score: pass 0 for staff). Three queries."""
    enrolments = {
        course_id: (enrolled_at, code, title)
        for course_id, enrolled_at, code, title in Enrollment.objects.active_students()
        .filter(user_id=student_id, course__in=courses)
        .values_list("course_id", "enrolled_at", "course__code", "course__title")
    }
    items = list(
        LearningItem.objects.filter(module__course_id__in=list(enrolments), kind__in=GRADED_KINDS)
        .order_by("module__course__code", "due_at", "id")
        .values("id", "title", "kind", "module__title", "module__course_id", "due_at")
    )
    item_ids = [item["id"] for item in items]
    actively_enrolled = Enrollment.objects.active_students().filter(
        user_id=OuterRef("student_id"), course_id=OuterRef("item__module__course_id")
    )
    # The class's latest attempts, the student's own among them (they are actively enrolled in every class here).
    latest = _latest(
        Submission.objects.filter(Exists(actively_enrolled), item_id__in=item_ids)
        .order_by("item_id", "student_id", "attempt")
        .values_list("item_id", "student_id", "state", "score", "max_points")
    )
    mine = {key: value for key, value in latest.items() if key[1] == student_id}
    class_scores: dict[int, list[Decimal]] = {item_id: [] for item_id in item_ids}
    for (item_id, _), (handed, percent) in latest.items():
        if percent is not None and handed in HANDED_IN:
            class_scores[item_id].append(percent)
    horizon = now + timedelta(days=due_soon_days)
    due_soon: list[DueItem] = []
    overdue: list[DueItem] = []
    grades: list[GradeRow] = []
    for item in items:
        course_id = item["module__course_id"]
        enrolled_at, code, course_title = enrolments[course_id]
        state: str | None = None
        scored: Decimal | None = None
        if (item["id"], student_id) in mine:
            state, scored = mine[(item["id"], student_id)]
        due_at = item["due_at"]
        due: DueItem = {
            "item": item["id"],
            "title": item["title"],
            "kind": item["kind"],
            "course": course_id,
            "course_code": code,
            "course_title": course_title,
            "due_at": due_at,
            "state": state,
        }
        if due_at is not None and now <= due_at < horizon:
            due_soon.append(due)
        elif (
            due_at is not None
            and due_at < now
            and counted_state(latest=state, due_at=due_at, enrolled_at=enrolled_at) == Submission.State.MISSING
        ):
            overdue.append(due)
        scores = class_scores[item["id"]]
        grade = withhold_small_group(
            {
                **due,
                "module_title": item["module__title"],
                "score_percent": None if scored is None else mean(scored, 1),
                "class_average_percent": mean(sum(scores), len(scores)),
                "class_scored": len(scores),
            },
            contributors=len(scores),
            minimum=peer_minimum,
            fields=("class_average_percent",),
            reason=f"The class average is shown when at least {peer_minimum} students have a score.",
            hide=False,
        )
        grades.append(grade)  # type: ignore[arg-type]
    # both lists hold only work with a due time
    due_soon.sort(key=lambda row: (row["due_at"] or now, row["item"]))
    overdue.sort(key=lambda row: (row["due_at"] or now, row["item"]))
    return {
        "student": student_id,
        "as_of": now,
        "due_soon_days": due_soon_days,
        "due_soon": due_soon,
        "overdue": overdue,
        "grades": grades,
    }
