"""Students' progress along learning paths (seed 000 `user_progress`), recomputed from what they did.

A path is an ordered list of items, possibly across several classes of one school. A student follows every path of
their school that contains an item of a class they attend (or completed). A step is done when the student has
completed its item: a completion in the rollups (analytics StudentItemDay, the same rows the class dashboards count)
or a graded submission (work marked by a teacher or imported without a completion event). The current step is the
first step not done, in path order; the path is complete when every step is done, at the moment its last step was
(the earliest completion of each step, then the latest of those).

Time spent is the sum of `duration_seconds` of the student's events on the path's items, and last accessed the
latest of those events (a view, a completion or an attempt: each is an access). Both read the event store through
its (actor_id, occurred_at) index; an item in two paths counts in both.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Max, Min, Q, QuerySet, Sum

from accounts.models import User
from analytics.models import COMPLETE_ACTIONS, LearningEvent, StudentItemDay
from analytics.selectors.progress import PathProgressOut
from classroom.models import Enrollment, LearningPath, LearningPathStep, Submission
from classroom.selectors import STUDENT_VISIBLE_STATUSES
from recommendations.models import PathProgress

# Fields a refresh rewrites on an existing row (created_at stays; updated_at is set by auto_now on insert and here).
UPDATED_FIELDS = [
    "steps_total",
    "steps_completed",
    "progress",
    "current_step",
    "time_spent_seconds",
    "last_accessed",
    "completed_at",
    "updated_at",
]


@dataclass
class _Step:
    id: int
    item_id: int
    position: int
    course_id: int


@dataclass
class _Path:
    id: int
    organization_id: int
    steps: list[_Step] = field(default_factory=list)

    @property
    def course_ids(self) -> set[int]:
        return {step.course_id for step in self.steps}


def percent_of(done: int, total: int) -> Decimal:
    """done / total in percent with two decimals (the model's precision); 0 for an empty path."""
    if total <= 0:
        return Decimal(0)
    return (Decimal(100) * done / total).quantize(Decimal("0.01"))


def _followed_paths(student_ids: Sequence[int]) -> tuple[dict[int, list[_Path]], dict[int, _Path]]:
    """Per student, the paths of their school with an item of one of their classes; and every such path by id.
    Two queries: the students' enrolments, then the steps of every path touching those classes."""
    courses: dict[int, set[int]] = defaultdict(set)
    organization_of: dict[int, int] = {}
    for student_id, course_id, organization_id in Enrollment.objects.filter(
        user_id__in=student_ids, role=Enrollment.Role.STUDENT, status__in=STUDENT_VISIBLE_STATUSES
    ).values_list("user_id", "course_id", "user__organization_id"):
        courses[student_id].add(course_id)
        if organization_id is not None:
            organization_of[student_id] = organization_id
    all_courses = set().union(*courses.values()) if courses else set()
    if not all_courses:
        return {}, {}
    touching = LearningPathStep.objects.filter(item__module__course_id__in=all_courses).values("path_id")
    paths: dict[int, _Path] = {}
    for step_id, path_id, organization_id, item_id, position, course_id in (
        LearningPathStep.objects.filter(path_id__in=touching)
        .order_by("path_id", "position")
        .values_list("id", "path_id", "path__organization_id", "item_id", "position", "item__module__course_id")
    ):
        path = paths.setdefault(path_id, _Path(path_id, organization_id))
        path.steps.append(_Step(step_id, item_id, position, course_id))
    followed: dict[int, list[_Path]] = {}
    for student_id, attended in courses.items():
        followed[student_id] = [
            path
            for path in paths.values()
            if path.organization_id == organization_of.get(student_id) and path.course_ids & attended
        ]
    return followed, paths


def completion_moments(
    *, student_ids: Iterable[int], item_ids: Iterable[int], course_ids: Iterable[int]
) -> dict[tuple[int, int], datetime]:
    """(student, item) → when the student first completed the item, for the completed ones: the first completion
    day in the rollups (at 00:00 UTC of that day, the rollups keep no time), the first completion event, or the
    first graded submission (its hand-in time), whichever is earliest.

    The item-day rows are read by (course, student, item), the partial index of completions: `course_ids` must
    cover the items' classes."""
    students, items, courses = list(student_ids), list(item_ids), list(course_ids)
    moments: dict[tuple[int, int], datetime] = {}

    def note(key: tuple[int, int], moment: datetime | None) -> None:
        if moment is not None and (key not in moments or moment < moments[key]):
            moments[key] = moment

    if not (students and items):
        return moments
    days = (
        StudentItemDay.objects.filter(
            course_id__in=courses, student_id__in=students, item_id__in=items, kind=StudentItemDay.Kind.COMPLETED
        )
        .values_list("student_id", "item_id")
        .annotate(first=Min("day"))
        .order_by()
    )
    for student_id, item_id, first_day in days:
        note((student_id, item_id), _start_of(first_day))
    events = (
        LearningEvent.objects.filter(actor_id__in=students, item_id__in=items, action__in=sorted(COMPLETE_ACTIONS))
        .values_list("actor_id", "item_id")
        .annotate(first=Min("occurred_at"))
        .order_by()
    )
    for student_id, item_id, first in events:
        note((student_id, item_id), first)
    graded = (
        Submission.objects.filter(student_id__in=students, item_id__in=items, score__isnull=False)
        .values_list("student_id", "item_id")
        .annotate(first=Min("submitted_at"), changed=Min("updated_at"))
        .order_by()
    )
    for student_id, item_id, first, changed in graded:
        note((student_id, item_id), first or changed)  # excused work may be graded without a hand-in time
    return moments


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def path_progress_refresh(*, student_ids: Iterable[int], now: datetime) -> int:
    """Recompute the PathProgress rows of these students for every path they follow, from stored data, and upsert
    them in one statement; returns how many rows were written. Idempotent: a re-run writes the same figures.

    Six queries whatever the number of students: enrolments, path steps, completions in the rollups, completion
    events, graded submissions, and time and access per item from the events (then the upsert)."""
    students = sorted(set(student_ids))
    if not students:
        return 0
    followed, paths = _followed_paths(students)
    if not paths:
        return 0
    item_ids = {step.item_id for path in paths.values() for step in path.steps}
    course_ids = {step.course_id for path in paths.values() for step in path.steps}
    completed = completion_moments(student_ids=followed, item_ids=item_ids, course_ids=course_ids)
    usage: dict[tuple[int, int], tuple[int, datetime | None]] = {
        (student_id, item_id): (seconds or 0, last)
        for student_id, item_id, seconds, last in LearningEvent.objects.filter(
            actor_id__in=list(followed), item_id__in=item_ids
        )
        .values_list("actor_id", "item_id")
        .annotate(seconds=Sum("duration_seconds"), last=Max("occurred_at"))
        .order_by()
    }
    rows: list[PathProgress] = []
    for student_id, student_paths in followed.items():
        for path in student_paths:
            rows.append(_progress_row(student_id, path, completed, usage))
    if not rows:
        return 0
    PathProgress.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["student", "path"], update_fields=UPDATED_FIELDS
    )
    return len(rows)


def _progress_row(
    student_id: int,
    path: _Path,
    completed: dict[tuple[int, int], datetime],
    usage: dict[tuple[int, int], tuple[int, datetime | None]],
) -> PathProgress:
    done = [completed.get((student_id, step.item_id)) for step in path.steps]
    steps_completed = sum(1 for moment in done if moment is not None)
    current = next((step for step, moment in zip(path.steps, done, strict=True) if moment is None), None)
    seconds = 0
    last: datetime | None = None
    for step in path.steps:
        spent, accessed = usage.get((student_id, step.item_id), (0, None))
        seconds += spent
        if accessed is not None and (last is None or accessed > last):
            last = accessed
    finished = bool(path.steps) and current is None
    return PathProgress(
        student_id=student_id,
        path_id=path.id,
        steps_total=len(path.steps),
        steps_completed=steps_completed,
        progress=percent_of(steps_completed, len(path.steps)),
        current_step_id=current.id if current else None,
        time_spent_seconds=seconds,
        last_accessed=last,
        completed_at=max(moment for moment in done if moment is not None) if finished else None,
    )


# SECTION: reading


def paths_within(course_ids: Any) -> QuerySet[LearningPath]:
    """Paths whose every item lies in the classes `course_ids` (a list or a subquery): what a teacher who shares
    only those classes with a student may see of the student's paths."""
    outside = LearningPathStep.objects.exclude(item__module__course_id__in=course_ids).values("path_id")
    return LearningPath.objects.exclude(pk__in=outside)


def paths_for_student(student: User, *, course_ids: Any = None) -> list[PathProgressOut]:
    """The student's paths with their progress as last refreshed: in progress, then not started, then complete, by
    title within each; `course_ids` (a teacher's classes in common) keeps only paths lying wholly inside them. One
    query."""
    if student.organization_id is None:
        return []
    rows = PathProgress.objects.filter(student=student, path__organization_id=student.organization_id)
    if course_ids is not None:
        rows = rows.filter(path__in=paths_within(course_ids))
    rows = rows.select_related("path", "current_step__item__module__course").order_by("path__title", "path_id")
    out: list[PathProgressOut] = []
    for row in rows:
        step = row.current_step
        out.append(
            {
                "path": row.path_id,
                "title": row.path.title,
                "description": row.path.description,
                "steps_total": row.steps_total,
                "steps_completed": row.steps_completed,
                "progress_percent": float(row.progress),
                "current_step": (
                    {
                        "step": step.pk,
                        "position": step.position,
                        "item": step.item_id,
                        "title": step.item.title,
                        "kind": step.item.kind,
                        "course_code": step.item.module.course.code,
                    }
                    if step is not None
                    else None
                ),
                "time_spent_seconds": row.time_spent_seconds,
                "last_accessed": row.last_accessed,
                "completed_at": row.completed_at,
                "updated_at": row.updated_at,
            }
        )

    def order(row: PathProgressOut) -> int:
        if row["completed_at"] is not None:
            return 2
        return 0 if row["steps_completed"] or row["last_accessed"] else 1

    out.sort(key=order)
    return out


def path_filter_for_student(student: User) -> Q:
    """Paths a student may set a goal on: of their school, with an item of a class they actively attend."""
    attended = Enrollment.objects.filter(
        user=student, role=Enrollment.Role.STUDENT, status=Enrollment.Status.ACTIVE
    ).values("course_id")
    return Q(organization_id=student.organization_id) & Q(
        pk__in=LearningPathStep.objects.filter(item__module__course_id__in=attended).values("path_id")
    )
