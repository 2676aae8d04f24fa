"""The graded work of one class (assignments and quizzes): per item and per student, who handed in on time, late,
who is missing and who is excused, by the latest attempt. Assignment timeliness (classes.assignment_timeliness),
the class dashboard's per-item table and its students table all count through `class_assignments`, so they cannot
disagree.

What is expected of whom is decided once, by `counted_state`: an actively enrolled student is expected to hand in
every graded item due while they were enrolled. Work due before a student enrolled is not missing for them: it
counts only if they handed it in (or were excused) anyway.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypedDict

from classroom.models import Course, Enrollment, LearningItem, Submission
from core.daterange import DateRange
from core.figures import mean

GRADED_KINDS = (LearningItem.Kind.ASSIGNMENT, LearningItem.Kind.QUIZ)
STATES = ("on_time", "late", "missing", "excused")


def counted_state(*, latest: str | None, due_at: datetime, enrolled_at: datetime) -> str | None:
    """The state a graded item counts in for one student: their latest attempt's, or missing without one. None (not
    expected of them, not counted) when it was due before they enrolled and they handed nothing in: no attempt, or
    only a "missing" mark."""
    if due_at < enrolled_at and latest in (None, Submission.State.MISSING):
        return None
    return latest or Submission.State.MISSING


class AssignmentWho(TypedDict):
    """The students (ids) in each state, in name order."""

    on_time: list[int]
    late: list[int]
    missing: list[int]
    excused: list[int]


class AssignmentRow(TypedDict):
    """One assignment or quiz of the class, already due."""

    item: int
    title: str
    kind: Annotated[str, "assignment or quiz."]
    module: int
    module_title: str
    due_at: datetime
    expected: Annotated[int, "Active students it counts for: enrolled when it was due, or who handed it in anyway."]
    on_time: int
    late: int
    missing: Annotated[int, "No submission, or one marked missing (never for work due before the student enrolled)."]
    excused: int
    average_score_percent: Annotated[float | None, "The mean score of the latest scored attempts, in percent."]
    who: Annotated[AssignmentWho, "Exactly who is in each state."]


class StudentWork(TypedDict):
    """One student's graded work among the items counted."""

    on_time: int
    late: int
    missing: int
    excused: int
    score_average_percent: Annotated[float | None, "The mean score of their latest scored attempts, in percent."]


def no_work() -> StudentWork:
    return {"on_time": 0, "late": 0, "missing": 0, "excused": 0, "score_average_percent": None}


@dataclass
class ClassAssignments:
    """The items counted, with their per-state counts and who-lists; each student's counts; the totals."""

    items: list[AssignmentRow]
    by_student: dict[int, StudentWork]
    totals: dict[str, int] = field(default_factory=dict)


def graded_items_due(
    *, course: Course, period: DateRange, module: int | None = None, item: int | None = None
) -> list[dict[str, Any]]:
    """The class's assignments and quizzes already due at `period.now`: those due within the period, narrowed to
    one module; or the one `item` named, whenever it was due (a teacher asking about one assignment means it)."""
    items = LearningItem.objects.filter(module__course=course, kind__in=GRADED_KINDS, due_at__lt=period.now)
    if item is not None:
        items = items.filter(pk=item)
    else:
        items = items.filter(due_at__gte=period.start(), due_at__lt=period.end())
    if module is not None:
        items = items.filter(module_id=module)
    fields = ("id", "title", "kind", "module_id", "module__title", "due_at")
    return [dict(row) for row in items.order_by("due_at", "id").values(*fields)]


def class_assignments(
    *, course: Course, period: DateRange, module: int | None = None, item: int | None = None
) -> ClassAssignments:
    """Per item (graded_items_due) and per actively enrolled student: on time, late, missing or excused by the
    latest attempt, as counted_state decides, with the mean scores."""
    due = graded_items_due(course=course, period=period, module=module, item=item)
    students = dict(
        Enrollment.objects.active_students()
        .filter(course=course)
        .order_by("user__last_name", "user__first_name", "user__username")
        .values_list("user_id", "enrolled_at")
    )
    latest: dict[tuple[int, int], tuple[str, Decimal | None]] = {}
    for item_id, student_id, state, score, maximum in (
        Submission.objects.filter(item_id__in=[row["id"] for row in due], student_id__in=list(students))
        .order_by("item_id", "student_id", "attempt")
        .values_list("item_id", "student_id", "state", "score", "max_points")
    ):
        scored = Decimal(100) * score / maximum if score is not None and maximum else None
        latest[(item_id, student_id)] = (state, scored)  # the last attempt wins
    by_student = {student_id: no_work() for student_id in students}
    student_scores: dict[int, list[Decimal]] = {student_id: [] for student_id in students}
    totals = dict.fromkeys(STATES, 0)
    rows: list[AssignmentRow] = []
    for row in due:
        who: dict[str, list[int]] = {state: [] for state in STATES}
        scores: list[Decimal] = []
        for student_id, enrolled_at in students.items():
            found = latest.get((row["id"], student_id))
            handed, scored = found if found is not None else (None, None)
            counted = counted_state(latest=handed, due_at=row["due_at"], enrolled_at=enrolled_at)
            if counted is None:
                continue
            who[counted].append(student_id)
            by_student[student_id][counted] += 1  # type: ignore[literal-required]
            if scored is not None and counted in (Submission.State.ON_TIME, Submission.State.LATE):
                scores.append(scored)
                student_scores[student_id].append(scored)
        for state in STATES:
            totals[state] += len(who[state])
        rows.append(
            {
                "item": row["id"],
                "title": row["title"],
                "kind": row["kind"],
                "module": row["module_id"],
                "module_title": row["module__title"],
                "due_at": row["due_at"],
                "expected": sum(len(names) for names in who.values()),
                "on_time": len(who["on_time"]),
                "late": len(who["late"]),
                "missing": len(who["missing"]),
                "excused": len(who["excused"]),
                "average_score_percent": mean(sum(scores), len(scores)),
                "who": {
                    "on_time": who["on_time"],
                    "late": who["late"],
                    "missing": who["missing"],
                    "excused": who["excused"],
                },
            }
        )
    for student_id, scores in student_scores.items():
        by_student[student_id]["score_average_percent"] = mean(sum(scores), len(scores))
    totals["expected"] = sum(totals[state] for state in STATES)
    return ClassAssignments(items=rows, by_student=by_student, totals=totals)


class ItemChoice(TypedDict):
    """A graded item a class's filters may name."""

    item: int
    title: str
    kind: str
    module: int
    due_at: datetime | None


class ModuleChoice(TypedDict):
    module: int
    title: str


class FilterChoices(TypedDict):
    """What the class's filters may name: its modules and its assignments and quizzes."""

    modules: list[ModuleChoice]
    items: list[ItemChoice]


def filter_choices(*, course: Course) -> FilterChoices:
    """The class's modules (in order) and graded items (by due time), for the filters of its dashboard."""
    return {
        "modules": [
            {"module": module_id, "title": title}
            for module_id, title in course.modules.order_by("position").values_list("id", "title")
        ],
        "items": [
            {"item": item_id, "title": title, "kind": kind, "module": module_id, "due_at": due_at}
            for item_id, title, kind, module_id, due_at in LearningItem.objects.filter(
                module__course=course, kind__in=GRADED_KINDS
            )
            .order_by("due_at", "id")
            .values_list("id", "title", "kind", "module_id", "due_at")
        ],
    }
