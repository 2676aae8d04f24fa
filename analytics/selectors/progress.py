"""Progress: which items a student has completed, per course and module; the progress of a class's students; and
the progress figures of a set of enrolments. One definition throughout: an item counts as completed once the
student has a completion event for it (COMPLETE_ACTIONS); a student's progress in a class is the share of the
class's items they completed; the average progress is over enrolments in classes with items; the completion rate
is the share of enrolments with every item of their class completed."""

from collections.abc import Iterable
from datetime import date, datetime
from fractions import Fraction
from typing import Annotated, Any, TypedDict

from django.db.models import Count, Max, QuerySet, Sum

from analytics.hooks import path_progress
from analytics.models import COMPLETE_ACTIONS, LearningEvent, StudentDailyRollup, StudentItemDay
from classroom.models import Course, Enrollment, LearningItem
from core.figures import minutes, percent, score_average

SCORE_BANDS = [(low, low + 10) for low in range(0, 100, 10)]  # 0-10 % ... 90-100 % (100 % falls in the last)
PROGRESS_BANDS = SCORE_BANDS


def completed_item_ids(student_id: int) -> set[int]:
    """Items the student has a completion event for (ever), through the (actor_id, occurred_at) index."""
    return set(
        LearningEvent.objects.filter(actor_id=student_id, action__in=sorted(COMPLETE_ACTIONS), item_id__isnull=False)
        .order_by()  # no default ordering: it would join the DISTINCT
        .values_list("item_id", flat=True)
        .distinct()
    )


class ModuleProgress(TypedDict):
    module: int
    title: str
    position: int
    items_total: int
    items_completed: int
    progress_percent: float


class CourseProgress(TypedDict):
    """One class of a student: items, lessons and modules ("topics") completed out of all."""

    course: int
    code: str
    title: str
    items_total: int
    items_completed: int
    lessons_total: int
    lessons_completed: int
    topics_total: Annotated[int, "Modules of the class."]
    topics_completed: Annotated[int, "Modules with every item completed."]
    progress_percent: Annotated[float | None, "Items completed out of all, in percent."]


class CourseModuleProgress(CourseProgress):
    modules: list[ModuleProgress]


# The counts of a class's progress before any item is counted.
NOTHING_COMPLETED = {
    "items_total": 0,
    "items_completed": 0,
    "lessons_total": 0,
    "lessons_completed": 0,
    "topics_total": 0,
    "topics_completed": 0,
}


def _item_progress(
    *, student_id: int, courses: QuerySet[Course], completed_items: set[int] | None = None
) -> list[CourseModuleProgress]:
    """Per course with items: items and lessons completed out of all, and per module (with its title and position)
    items completed out of all. An item counts as completed once the student has a completion event for it
    (`completed_items`: completed_item_ids, when the caller has read it already)."""
    completed = completed_item_ids(student_id) if completed_items is None else completed_items
    per_course: dict[int, dict[str, Any]] = {}
    for item_id, kind, module_id, module_title, module_position, course_id, code, title in (
        LearningItem.objects.filter(module__course__in=courses)
        .order_by("module__course__code", "module__position", "position")
        .values_list(
            "id",
            "kind",
            "module_id",
            "module__title",
            "module__position",
            "module__course_id",
            "module__course__code",
            "module__course__title",
        )
    ):
        row = per_course.setdefault(
            course_id, {"course": course_id, "code": code, "title": title, **NOTHING_COMPLETED, "modules": {}}
        )
        done = item_id in completed
        row["items_total"] += 1
        row["items_completed"] += done
        if kind == LearningItem.Kind.LESSON:
            row["lessons_total"] += 1
            row["lessons_completed"] += done
        module = row["modules"].setdefault(
            module_id,
            {
                "module": module_id,
                "title": module_title,
                "position": module_position,
                "items_total": 0,
                "items_completed": 0,
            },
        )
        module["items_total"] += 1
        module["items_completed"] += done
    for row in per_course.values():
        modules = list(row.pop("modules").values())
        for module in modules:
            module["progress_percent"] = percent(module["items_completed"], module["items_total"])
        row["topics_total"] = len(modules)
        row["topics_completed"] = sum(module["items_completed"] == module["items_total"] for module in modules)
        row["progress_percent"] = percent(row["items_completed"], row["items_total"])
        row["modules"] = modules
    return list(per_course.values())  # type: ignore[arg-type]


def course_progress(
    *, student_id: int, courses: QuerySet[Course], completed_items: set[int] | None = None
) -> list[CourseProgress]:
    """Per course: items and lessons completed out of all, and modules ("topics") with every item completed. An item
    counts as completed once the student has a completion event for it (`completed_items`: as _item_progress)."""
    rows = _item_progress(student_id=student_id, courses=courses, completed_items=completed_items)
    for row in rows:
        del row["modules"]  # type: ignore[misc]
    return rows  # type: ignore[return-value]


def path_status(items_total: int, items_completed: int) -> str:
    if items_total and items_completed == items_total:
        return "completed"
    return "in_progress" if items_completed else "not_started"


class LearningPathProgress(TypedDict):
    course: int
    code: str
    title: str
    items_total: int
    items_completed: int
    progress_percent: float | None
    status: Annotated[str, "completed (every item), in_progress (some) or not_started."]


class RecentCompletion(TypedDict):
    completed_at: datetime
    action: str
    course: int | None
    item: int | None
    title: str | None


class StepOut(TypedDict):
    """A step of a learning path."""

    step: int
    position: int
    item: int
    title: str
    kind: str
    course_code: str


class PathProgressOut(TypedDict):
    """One learning path a student follows and how far along it they are (recommendations keeps these figures:
    PathProgress, refreshed from the student's events)."""

    path: int
    title: str
    description: str
    steps_total: int
    steps_completed: int
    progress_percent: Annotated[float, "Steps completed out of all, in percent."]
    current_step: Annotated[StepOut | None, "The first step not completed, in path order; null once complete."]
    time_spent_seconds: Annotated[int, "Sum of the durations of the student's events on the path's items."]
    last_accessed: Annotated[datetime | None, "The student's latest event on an item of the path."]
    completed_at: Annotated[datetime | None, "When the last step was completed; null until every step is."]
    updated_at: Annotated[datetime, "When these figures were last recomputed from the student's events."]


class ProgressTracking(TypedDict):
    """A student's learning paths: their classes."""

    student: int
    course: int | None
    as_of: datetime
    total_learning_paths: int
    completed_paths: int
    in_progress_paths: int
    not_started_paths: int
    completion_rate: Annotated[float | None, "Completed paths out of all, in percent."]
    average_progress: Annotated[float | None, "Progress averaged over the paths with items."]
    paths: list[LearningPathProgress]
    recent_completions: list[RecentCompletion]
    learning_paths: Annotated[
        list[PathProgressOut],
        "The school's learning paths (ordered items, possibly across classes) lying in these classes, with the "
        "student's progress along each: steps total and completed, percent, current step, time spent, last access, "
        "completion (as GET /api/v1/recommendations/paths/ answers).",
    ]


def progress_tracking(*, student_id: int, courses: QuerySet[Course], now: datetime, limit: int = 10) -> dict[str, Any]:
    """A student's learning paths, i.e. the courses given: completed (every item completed), in progress (some),
    not started (none, or a course without items); the completion rate (completed out of all paths), the average
    progress (items completed out of all, averaged over paths with items), and the latest `limit` completion events
    with the item's title (event store, through the (actor_id, occurred_at) index)."""
    progress = {row["course"]: row for row in course_progress(student_id=student_id, courses=courses)}
    paths: list[LearningPathProgress] = []
    for course_id, code, title in courses.order_by("code").values_list("pk", "code", "title"):
        row = progress.get(course_id)
        total, done = (row["items_total"], row["items_completed"]) if row else (0, 0)
        paths.append(
            {
                "course": course_id,
                "code": code,
                "title": title,
                "items_total": total,
                "items_completed": done,
                "progress_percent": row["progress_percent"] if row else None,
                "status": path_status(total, done),
            }
        )
    shares = [(path["items_completed"], path["items_total"]) for path in paths]
    completed = sum(path["status"] == "completed" for path in paths)
    recent = (
        LearningEvent.objects.filter(
            actor_id=student_id,
            course_id__in=courses.values("pk"),
            action__in=sorted(COMPLETE_ACTIONS),
            item_id__isnull=False,
            occurred_at__lte=now,
        )
        .order_by("-occurred_at")
        .values_list("occurred_at", "action", "course_id", "item_id", "item__title")[:limit]
    )
    return {
        "as_of": now,
        "total_learning_paths": len(paths),
        "completed_paths": completed,
        "in_progress_paths": sum(path["status"] == "in_progress" for path in paths),
        "not_started_paths": sum(path["status"] == "not_started" for path in paths),
        # a path is a class: its completion and progress are the enrolment figures' (completion_rate and
        # average_progress below), over the student's classes
        "completion_rate": completion_rate(shares),
        "average_progress": average_progress(shares),
        "paths": paths,
        "recent_completions": [
            {"completed_at": occurred_at, "action": action, "course": course_id, "item": item_id, "title": title}
            for occurred_at, action, course_id, item_id, title in recent
        ],
        "learning_paths": path_progress(student_id, courses.values("pk")),
    }


class LearningProgressCourse(CourseModuleProgress):
    events: int
    active_minutes: float
    last_activity_date: Annotated[date | None, "The last local day with activity in the class."]
    average_score_percent: float | None


class LearningProgress(TypedDict):
    student: int
    course: int | None
    as_of: datetime
    courses: list[LearningProgressCourse]


def learning_progress(*, student_id: int, courses: QuerySet[Course]) -> list[LearningProgressCourse]:
    """Per course (by code): items, lessons and modules completed out of all, progress per module, and from the
    rollups (all time) events, active minutes, the last local day with activity and the average score."""
    progress = {row["course"]: row for row in _item_progress(student_id=student_id, courses=courses)}
    activity = {
        row["course_id"]: row
        for row in StudentDailyRollup.objects.filter(student_id=student_id, course_id__in=courses.values("pk"))
        .values("course_id")
        .annotate(
            last_day=Max("day"),
            events=Sum("events"),
            active_seconds=Sum("active_seconds"),
            score_sum=Sum("score_sum"),
            score_count=Sum("score_count"),
        )
    }
    answer: list[LearningProgressCourse] = []
    for course_id, code, title in courses.order_by("code").values_list("pk", "code", "title"):
        row: dict[str, Any] = dict(progress.get(course_id) or {})
        if not row:  # a class without items
            row = {**NOTHING_COMPLETED, "progress_percent": None, "modules": []}
        done = activity.get(course_id, {})
        answer.append(
            {
                **row,  # type: ignore[typeddict-item]
                "course": course_id,
                "code": code,
                "title": title,
                "events": done.get("events") or 0,
                "active_minutes": minutes(done.get("active_seconds")),
                "last_activity_date": done.get("last_day"),
                "average_score_percent": score_average(done.get("score_sum"), done.get("score_count")),
            }
        )
    return answer


def class_completions(course_ids: list[int]) -> dict[int, dict[int, tuple[int, int]]]:
    """Per class: each actively enrolled student's (items completed, items of the class): an item counts once the
    student has a completion event for it in the class (the completed item-day rollups)."""
    items = dict(
        LearningItem.objects.filter(module__course_id__in=course_ids)
        .values("module__course_id")
        .annotate(n=Count("id"))
        .values_list("module__course_id", "n")
    )
    enrolled = list(
        Enrollment.objects.active_students().filter(course_id__in=course_ids).values_list("course_id", "user_id")
    )
    # Only the enrolled students' completions are counted (through analytics_itemday_done_idx), not the whole
    # history of everyone who ever took the class; no enrolled student, no query.
    completed = (
        {
            (course_id, student_id): n
            for course_id, student_id, n in StudentItemDay.objects.filter(
                course_id__in=course_ids,
                kind=StudentItemDay.Kind.COMPLETED,
                student_id__in=sorted({student_id for _, student_id in enrolled}),
            )
            .values("course_id", "student_id")
            .annotate(n=Count("item_id", distinct=True))
            .values_list("course_id", "student_id", "n")
        }
        if enrolled
        else {}
    )
    result: dict[int, dict[int, tuple[int, int]]] = {course_id: {} for course_id in course_ids}
    for course_id, student_id in enrolled:
        result[course_id][student_id] = (completed.get((course_id, student_id), 0), items.get(course_id, 0))
    return result


def progress_of(completions: dict[int, tuple[int, int]]) -> dict[int, float]:
    """Each student's progress in percent (0 without a completion, and in a class without items)."""
    return {student: percent(done, items) or 0.0 for student, (done, items) in completions.items()}


def class_progress(course_ids: list[int]) -> dict[int, dict[int, float]]:
    """Per class: each actively enrolled student's progress (items with a completion, out of the class's items, in
    percent); students without any completion count as 0."""
    return {course_id: progress_of(students) for course_id, students in class_completions(course_ids).items()}


def average_progress(completions: Iterable[tuple[int, int]]) -> float | None:
    """The average progress of enrolments (done, items), in percent, over those in classes with items: the exact
    mean of the shares (fractions, so any order of summing gives the same number), rounded once."""
    shares = [Fraction(done, items) for done, items in completions if items]
    return round(float(100 * sum(shares, Fraction(0)) / len(shares)), 1) if shares else None


def completion_rate(completions: Iterable[tuple[int, int]]) -> float | None:
    """Enrolments with every item of their class completed, out of all enrolments (one in a class without items
    has completed nothing)."""
    rows = list(completions)
    return percent(sum(bool(items) and done >= items for done, items in rows), len(rows))


class ProgressBand(TypedDict):
    from_percent: int
    to_percent: int
    students: int


def _band(value: float) -> int:
    return min(int(value // 10), len(PROGRESS_BANDS) - 1)


def progress_distribution(progress: dict[int, float]) -> list[ProgressBand]:
    counts = [0] * len(PROGRESS_BANDS)
    for value in progress.values():
        counts[_band(value)] += 1
    return [
        {"from_percent": low, "to_percent": high, "students": count}
        for (low, high), count in zip(PROGRESS_BANDS, counts, strict=True)
    ]
