"""Goals a student sets, their progress and milestones, checked from the student's events.

Kinds (recommendations.models.Goal.Kind):

- `path`: finish a learning path — progress is the path's (recommendations.paths, PathProgress);
- `course_completion`: complete `target` percent (default 100) of a class's items by `due_date` — progress is the
  share of the class's items completed (as for paths: a completion in the rollups, a completion event or a graded
  submission) over the target;
- `weekly_minutes` / `weekly_xp`: `target` active minutes or XP per ISO week — progress is this week's over the
  target. Weeks are UTC weeks (Monday 00:00 UTC to Sunday), summed from the daily rollups, whose days are each
  class's local days: a class far from UTC may count an evening in the neighbouring week. Weekly goals recur: they
  stay active, and their milestones are per week (`period`, e.g. "2026-W49").

A goal becomes `achieved` at 100 % (weekly goals: when their end date has passed and the target was met in at least
one week), `missed` when its due date has passed below 100 %. Due dates are days of the student's school calendar.
Milestones (25, 50, 75, 100 %) are inserted once — the database's unique (goal, period, threshold) decides — and
each newly reached one is announced live to the student after commit, so re-running a check announces nothing twice.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, TypedDict

from django.db import connection, transaction
from django.db.models import Prefetch, Q, QuerySet, Sum
from psycopg import sql

from accounts.models import Role, User
from accounts.selectors import organization_zone
from analytics.models import StudentDailyRollup
from classroom.models import Course, Enrollment, LearningItem, LearningPath
from classroom.selectors import courses_in_common, sees_whole_student
from core.exceptions import ApplicationError
from core.realtime import group_send_many
from gamification.services import student_group
from recommendations.models import Goal, GoalMilestone, PathProgress
from recommendations.paths import (
    PathProgressOut,
    completion_moments,
    path_filter_for_student,
    path_progress_refresh,
    paths_for_student,
    paths_within,
)

THRESHOLDS = (25, 50, 75, 100)
MAX_ACTIVE_GOALS = 20
# Target ranges per kind (inclusive): minutes and XP per week; percent of a class's items.
TARGET_RANGES: dict[str, tuple[int, int]] = {
    Goal.Kind.WEEKLY_MINUTES: (10, 3000),
    Goal.Kind.WEEKLY_XP: (10, 100_000),
    Goal.Kind.COURSE_COMPLETION: (1, 100),
}
WEEKLY_KINDS = frozenset({Goal.Kind.WEEKLY_MINUTES, Goal.Kind.WEEKLY_XP})
UNSET: Any = object()  # goal_update: a field not given
STATUS_ORDER = (Goal.Status.ACTIVE, Goal.Status.ACHIEVED, Goal.Status.MISSED, Goal.Status.CANCELLED)


def iso_week(moment: datetime | date) -> str:
    """The ISO week of a moment (in UTC) or day, as GoalMilestone.period writes it: "2026-W49"."""
    day = moment.date() if isinstance(moment, datetime) else moment
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_days(now: datetime) -> tuple[date, date]:
    """Monday and Sunday of the UTC ISO week of `now`."""
    today = _utc_date(now)
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def _utc_date(now: datetime) -> date:
    return now.astimezone(UTC).date()


def school_today(organization: Any, now: datetime) -> date:
    return now.astimezone(organization_zone(organization)).date()


# SECTION: writing goals


def _refuse(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, errors={field: [message]})


def _check_target(kind: str, target: int | None) -> int | None:
    """The target a goal of `kind` keeps (course goals default to 100 %); ApplicationError naming `target`."""
    if kind == Goal.Kind.PATH:
        if target is not None:
            raise _refuse("target", "A path goal has no target: it is reached when every step is completed.")
        return None
    low, high = TARGET_RANGES[kind]
    if target is None:
        if kind == Goal.Kind.COURSE_COMPLETION:
            return 100
        unit = "minutes" if kind == Goal.Kind.WEEKLY_MINUTES else "XP"
        raise _refuse("target", f"Required: the {unit} per week to reach, {low} to {high}.")
    if not low <= target <= high:
        unit = {"weekly_minutes": "minutes per week", "weekly_xp": "XP per week"}.get(kind, "percent of the items")
        raise _refuse("target", f"Must be between {low} and {high} ({unit}).")
    return target


def _check_due_date(student: User, kind: str, due_date: date | None, now: datetime) -> None:
    if due_date is None:
        if kind == Goal.Kind.COURSE_COMPLETION:
            raise _refuse("due_date", "Required: the day by which to complete the class.")
        return
    if due_date < school_today(student.organization, now):
        raise _refuse("due_date", "Must be today or later.")


def goal_create(
    *,
    student: User,
    kind: str,
    path: LearningPath | int | None = None,
    course: Course | int | None = None,
    target: int | None = None,
    due_date: date | None = None,
    now: datetime,
) -> Goal:
    """Set a goal for `student` (checked: ApplicationError naming the field), then compute its progress at once, so
    the answer shows where the student already stands (milestones already passed are announced, as on any check)."""
    organization_id = student.organization_id
    if student.role != Role.STUDENT or organization_id is None:
        raise ApplicationError("Only students of a school set goals.")
    if kind not in Goal.Kind.values:
        raise _refuse("kind", f"kind must be one of: {', '.join(Goal.Kind.values)}.")
    path_id = path.pk if isinstance(path, LearningPath) else path
    course_id = course.pk if isinstance(course, Course) else course
    if kind != Goal.Kind.PATH and path_id is not None:
        raise _refuse("path", "Only for goals of kind path.")
    if kind != Goal.Kind.COURSE_COMPLETION and course_id is not None:
        raise _refuse("course", "Only for goals of kind course_completion.")
    if kind == Goal.Kind.PATH:
        if path_id is None:
            raise _refuse("path", "Required: the learning path to finish.")
        if not LearningPath.objects.filter(path_filter_for_student(student), pk=path_id).exists():
            raise _refuse("path", "Not a learning path of your classes.")
    if kind == Goal.Kind.COURSE_COMPLETION:
        if course_id is None:
            raise _refuse("course", "Required: the class to complete.")
        if not Enrollment.objects.active_students().filter(user=student, course_id=course_id).exists():
            raise _refuse("course", "Not a class you are enrolled in.")
    kept_target = _check_target(kind, target)
    _check_due_date(student, kind, due_date, now)
    with transaction.atomic():
        # the student's row is the lock that keeps two requests at once from passing the limit together
        User.objects.select_for_update().filter(pk=student.pk).first()
        goal = _goal_insert(
            student=student,
            organization_id=organization_id,
            kind=kind,
            path_id=path_id,
            course_id=course_id,
            target=kept_target,
            due_date=due_date,
            now=now,
        )
        if kind == Goal.Kind.PATH:
            path_progress_refresh(student_ids=[student.pk], now=now)
        goals_check(student_ids=[student.pk], now=now)
    goal.refresh_from_db()
    return goal


def _goal_insert(
    *,
    student: User,
    organization_id: int,
    kind: str,
    path_id: int | None,
    course_id: int | None,
    target: int | None,
    due_date: date | None,
    now: datetime,
) -> Goal:
    active = Goal.objects.filter(student=student, status=Goal.Status.ACTIVE)
    if active.count() >= MAX_ACTIVE_GOALS:
        raise ApplicationError(
            f"You have {MAX_ACTIVE_GOALS} active goals, the most allowed: cancel one first.",
            errors={"non_field_errors": [f"At most {MAX_ACTIVE_GOALS} active goals."]},
        )
    if active.filter(kind=kind).filter(**{"path_id": path_id, "course_id": course_id}).exists():
        raise ApplicationError(
            "You already have this goal.",
            errors={"non_field_errors": ["You already have an active goal of this kind for this path or class."]},
        )
    return Goal.objects.create(
        organization_id=organization_id,
        student=student,
        kind=kind,
        path_id=path_id,
        course_id=course_id,
        target=target,
        due_date=due_date,
        created_at=now,
        updated_at=now,
    )


def goal_update(*, goal: Goal, target: int | None = UNSET, due_date: date | None = UNSET, now: datetime) -> Goal:
    """Change an active goal's target or due date (checked as at creation), then check its progress again."""
    if goal.status != Goal.Status.ACTIVE:
        raise _refuse("status", f"Only an active goal can be changed; this one is {goal.status}.")
    student = goal.student
    if target is not UNSET:
        goal.target = _check_target(goal.kind, target)
    if due_date is not UNSET:
        _check_due_date(student, goal.kind, due_date, now)
        goal.due_date = due_date
    goal.updated_at = now
    with transaction.atomic():
        goal.save(update_fields=["target", "due_date", "updated_at"])
        goals_check(student_ids=[student.pk], now=now)
    goal.refresh_from_db()
    return goal


def goal_cancel(*, goal: Goal, now: datetime) -> Goal:
    """Stop following an active goal (kept, with its milestones, as cancelled)."""
    if goal.status != Goal.Status.ACTIVE:
        raise _refuse("status", f"Only an active goal can be cancelled; this one is {goal.status}.")
    goal.status = Goal.Status.CANCELLED
    goal.updated_at = now
    goal.save(update_fields=["status", "updated_at"])
    return goal


# SECTION: checking goals


@dataclass(frozen=True)
class ReachedMilestone:
    goal: int
    student: int
    kind: str
    period: str
    threshold: int
    progress: float
    title: str

    def message(self) -> dict[str, Any]:
        """The live message (live.consumers.LiveConsumer.goal_milestone relays it as type `goal_milestone`)."""
        return {
            "type": "goal.milestone",
            "student": self.student,
            "goal": self.goal,
            "kind": self.kind,
            "threshold": self.threshold,
            "period": self.period,
            "progress": self.progress,
            "title": self.title,
        }


@dataclass
class _Measure:
    """What a goal's progress is computed from: the value reached and the value aimed at (same unit)."""

    value: Decimal
    aim: Decimal

    @property
    def percent(self) -> Decimal:
        if self.aim <= 0:
            return Decimal(0)
        return min(Decimal(100), (Decimal(100) * self.value / self.aim)).quantize(Decimal("0.01"))


def _course_completion(goals: Sequence[Goal]) -> dict[int, Decimal]:
    """Goal id → percent of its class's items the student has completed (two queries for every course goal)."""
    if not goals:
        return {}
    course_ids = {goal.course_id for goal in goals if goal.course_id is not None}
    items: dict[int, list[int]] = defaultdict(list)
    for item_id, course_id in LearningItem.objects.filter(module__course_id__in=course_ids).values_list(
        "id", "module__course_id"
    ):
        items[course_id].append(item_id)
    done = completion_moments(
        student_ids={goal.student_id for goal in goals},
        item_ids=[item for ids in items.values() for item in ids],
        course_ids=course_ids,
    )
    out: dict[int, Decimal] = {}
    for goal in goals:
        course_items = items.get(goal.course_id or 0, [])
        completed = sum(1 for item in course_items if (goal.student_id, item) in done)
        out[goal.pk] = (
            (Decimal(100) * completed / len(course_items)).quantize(Decimal("0.01")) if course_items else Decimal(0)
        )
    return out


def _weekly_figures(student_ids: Iterable[int], now: datetime) -> dict[int, tuple[int, int]]:
    """Student → (active seconds, XP) of the UTC ISO week of `now`, from the daily rollups (one query)."""
    monday, sunday = week_days(now)
    return {
        student_id: (seconds or 0, xp or 0)
        for student_id, seconds, xp in StudentDailyRollup.objects.filter(
            student_id__in=list(student_ids), day__range=(monday, sunday)
        )
        .values_list("student_id")
        .annotate(seconds=Sum("active_seconds"), xp=Sum("xp"))
        .order_by()
    }


def _measures(goals: Sequence[Goal], now: datetime) -> dict[int, _Measure]:
    by_kind: dict[str, list[Goal]] = defaultdict(list)
    for goal in goals:
        by_kind[goal.kind].append(goal)
    measures: dict[int, _Measure] = {}
    path_goals = by_kind[Goal.Kind.PATH]
    if path_goals:
        progress = {
            (student_id, path_id): value
            for student_id, path_id, value in PathProgress.objects.filter(
                student_id__in={goal.student_id for goal in path_goals},
                path_id__in={goal.path_id for goal in path_goals},
            ).values_list("student_id", "path_id", "progress")
        }
        for goal in path_goals:
            measures[goal.pk] = _Measure(progress.get((goal.student_id, goal.path_id or 0), Decimal(0)), Decimal(100))
    completion = _course_completion(by_kind[Goal.Kind.COURSE_COMPLETION])
    for goal in by_kind[Goal.Kind.COURSE_COMPLETION]:
        measures[goal.pk] = _Measure(completion[goal.pk], Decimal(goal.target or 100))
    weekly = by_kind[Goal.Kind.WEEKLY_MINUTES] + by_kind[Goal.Kind.WEEKLY_XP]
    if weekly:
        figures = _weekly_figures({goal.student_id for goal in weekly}, now)
        for goal in weekly:
            seconds, xp = figures.get(goal.student_id, (0, 0))
            value = Decimal(seconds) / 60 if goal.kind == Goal.Kind.WEEKLY_MINUTES else Decimal(xp)
            measures[goal.pk] = _Measure(value, Decimal(goal.target or 0))
    return measures


def goal_title(goal: Goal) -> str:
    """The goal in plain words, as the page and the live messages name it."""
    if goal.kind == Goal.Kind.PATH:
        return f"Finish the path “{goal.path.title if goal.path else goal.path_id}”"
    if goal.kind == Goal.Kind.COURSE_COMPLETION:
        course = goal.course.code if goal.course else str(goal.course_id)
        due = f" by {goal.due_date.day} {goal.due_date:%b %Y}" if goal.due_date else ""
        return f"Complete {goal.target or 100} % of {course}{due}"
    if goal.kind == Goal.Kind.WEEKLY_MINUTES:
        return f"{goal.target} active minutes a week"
    return f"{goal.target} XP a week"


def milestone_title(goal: Goal, threshold: int) -> str:
    reached = "Goal reached" if threshold == 100 else f"{threshold} % of the way"
    week = " this week" if goal.kind in WEEKLY_KINDS else ""
    return f"{reached}{week}: {goal_title(goal)}"


# Milestones inserted by this statement, and only those: a concurrent or repeated check inserts nothing twice, and
# RETURNING tells this run which ones it inserted (Django's bulk_create with ignore_conflicts returns no ids).
INSERT_MILESTONES = sql.SQL(
    "INSERT INTO {table} (goal_id, period, threshold, reached_at) "
    "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::smallint[], %s::timestamptz[]) "
    "ON CONFLICT (goal_id, period, threshold) DO NOTHING RETURNING goal_id, period, threshold"
)


def _milestones_insert(candidates: Sequence[tuple[int, str, int]], now: datetime) -> set[tuple[int, str, int]]:
    if not candidates:
        return set()
    goal_ids, periods, thresholds = zip(*candidates, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            INSERT_MILESTONES.format(table=sql.Identifier(GoalMilestone._meta.db_table)),
            [list(goal_ids), list(periods), list(thresholds), [now] * len(candidates)],
        )
        return {(goal_id, period, threshold) for goal_id, period, threshold in cursor.fetchall()}


def goals_check(*, student_ids: Iterable[int], now: datetime) -> list[ReachedMilestone]:
    """Recompute the progress of these students' active goals, close those achieved or past their due date, insert
    the milestones newly crossed and announce each to its student after commit; returns the new milestones.

    A few queries whatever the number of goals: the goals, one per kind present (paths, course items and
    completions, weekly rollups), the milestone insert and one bulk update."""
    students = sorted(set(student_ids))
    if not students:
        return []
    with transaction.atomic():
        # locked until commit, so a goal cancelled meanwhile is not written back as active
        goals = list(
            Goal.objects.filter(student_id__in=students, status=Goal.Status.ACTIVE)
            .select_related("organization", "path", "course")
            .select_for_update(of=("self",))
        )
        if not goals:
            return []
        measures = _measures(goals, now)
        period = iso_week(_utc_date(now))
        candidates: list[tuple[int, str, int]] = []
        for goal in goals:
            percent = measures[goal.pk].percent
            goal_period = period if goal.kind in WEEKLY_KINDS else ""
            candidates += [(goal.pk, goal_period, threshold) for threshold in THRESHOLDS if percent >= threshold]
        inserted = _milestones_insert(candidates, now)
        met_once = _weekly_met_once([goal for goal in goals if goal.kind in WEEKLY_KINDS])
        changed: list[Goal] = []
        for goal in goals:
            before = (goal.progress, goal.status)
            _settle(goal, measures[goal.pk].percent, now=now, met_once=goal.pk in met_once)
            # a weekly goal's progress is of the week it was last checked in (goal_out shows 0 in a new week until
            # then): touching it each new week keeps updated_at saying which week its progress is of
            new_week = goal.kind in WEEKLY_KINDS and not _checked_in(goal, now)
            if (goal.progress, goal.status) != before or new_week:
                goal.updated_at = now
                changed.append(goal)
        if changed:
            Goal.objects.bulk_update(changed, ["progress", "status", "achieved_at", "updated_at"])
        by_id = {goal.pk: goal for goal in goals}
        reached = [
            ReachedMilestone(
                goal=goal_id,
                student=by_id[goal_id].student_id,
                kind=by_id[goal_id].kind,
                period=goal_period,
                threshold=threshold,
                progress=float(measures[goal_id].percent),
                title=milestone_title(by_id[goal_id], threshold),
            )
            for goal_id, goal_period, threshold in sorted(inserted)
        ]
        if reached:
            messages = [(student_group(milestone.student), milestone.message()) for milestone in reached]
            transaction.on_commit(lambda: group_send_many(messages))
    return reached


def _weekly_met_once(goals: Sequence[Goal]) -> set[int]:
    """Weekly goals whose target was met in at least one week (a 100 % milestone in some period)."""
    if not goals:
        return set()
    return set(GoalMilestone.objects.filter(goal__in=goals, threshold=100).values_list("goal_id", flat=True).distinct())


def _settle(goal: Goal, percent: Decimal, *, now: datetime, met_once: bool) -> None:
    """Set a goal's progress and, when it is over, its status."""
    goal.progress = percent
    today = school_today(goal.organization, now)
    past_due = goal.due_date is not None and today > goal.due_date
    if goal.kind in WEEKLY_KINDS:
        if past_due:
            goal.status = Goal.Status.ACHIEVED if met_once else Goal.Status.MISSED
            goal.achieved_at = now if met_once else None
        return
    if percent >= 100:
        goal.status = Goal.Status.ACHIEVED
        goal.achieved_at = now
    elif past_due:
        goal.status = Goal.Status.MISSED


def goals_close_due(*, now: datetime, batch: int = 500) -> int:
    """Check every student with an active goal past its due date (and every weekly goal, whose week may have changed
    without an event): closes missed goals even for students who stopped sending events. Returns the students
    checked."""
    student_ids = sorted(
        set(
            Goal.objects.filter(status=Goal.Status.ACTIVE)
            .filter(Q(due_date__lt=_utc_date(now) + timedelta(days=1)) | Q(kind__in=sorted(WEEKLY_KINDS)))
            .values_list("student_id", flat=True)
            .distinct()
        )
    )
    for start in range(0, len(student_ids), batch):
        goals_check(student_ids=student_ids[start : start + batch], now=now)
    return len(student_ids)


# SECTION: reading


class MilestoneOut(TypedDict):
    threshold: Annotated[int, "25, 50, 75 or 100 (percent of the goal)."]
    period: Annotated[str, "The ISO week (e.g. 2026-W49) for weekly goals; empty for others."]
    reached_at: datetime


class GoalOut(TypedDict):
    """A goal, its progress and the milestones reached (for weekly goals: this week's)."""

    id: int
    kind: Annotated[str, "path, course_completion, weekly_minutes or weekly_xp."]
    title: Annotated[str, "The goal in plain words."]
    path: Annotated[int | None, "The learning path (kind path)."]
    course: Annotated[int | None, "The class (kind course_completion)."]
    target: Annotated[int | None, "Minutes or XP per week; percent of the class's items; null for a path."]
    due_date: date | None
    status: Annotated[str, "active, achieved, missed or cancelled."]
    progress_percent: Annotated[float, "Towards the target (for weekly goals: this UTC ISO week's)."]
    period: Annotated[str, "The ISO week progress refers to (weekly goals); empty for others."]
    milestones: list[MilestoneOut]
    created_at: datetime
    updated_at: datetime
    achieved_at: datetime | None


def goals_visible_to(student: User, *, course_ids: Any = None) -> QuerySet[Goal]:
    """A student's goals: all of them for the student and those who see the whole student; with `course_ids` (a
    teacher's classes in common) only goals about those classes: course goals of them and path goals whose path lies
    within them. Weekly goals count every class, so a teacher sees none."""
    goals = Goal.objects.filter(student=student)
    if course_ids is not None:
        goals = goals.filter(
            Q(kind=Goal.Kind.COURSE_COMPLETION, course_id__in=course_ids)
            | Q(kind=Goal.Kind.PATH, path__in=paths_within(course_ids))
        )
    return goals


def goal_out(goal: Goal, *, now: datetime) -> GoalOut:
    period = iso_week(_utc_date(now)) if goal.kind in WEEKLY_KINDS else ""
    milestones: list[MilestoneOut] = [
        {"threshold": milestone.threshold, "period": milestone.period, "reached_at": milestone.reached_at}
        for milestone in goal.milestones.all()
        if milestone.period == period
    ]
    return {
        "id": goal.pk,
        "kind": goal.kind,
        "title": goal_title(goal),
        "path": goal.path_id,
        "course": goal.course_id,
        "target": goal.target,
        "due_date": goal.due_date,
        "status": goal.status,
        # a weekly goal's stored progress is of the week it was last checked in: a new week starts at 0
        "progress_percent": float(goal.progress) if period == "" or _checked_in(goal, now) else 0.0,
        "period": period,
        "milestones": milestones,
        "created_at": goal.created_at,
        "updated_at": goal.updated_at,
        "achieved_at": goal.achieved_at,
    }


def _checked_in(goal: Goal, now: datetime) -> bool:
    """Whether a weekly goal's stored progress was computed in the current UTC week."""
    return iso_week(_utc_date(goal.updated_at)) == iso_week(_utc_date(now))


def goals_for_student(student: User, *, now: datetime, course_ids: Any = None) -> list[GoalOut]:
    """The student's goals (`course_ids`: as goals_visible_to), active first, newest first within each status (two
    queries)."""
    goals = (
        goals_visible_to(student, course_ids=course_ids)
        .select_related("path", "course")
        .prefetch_related(Prefetch("milestones", queryset=GoalMilestone.objects.order_by("period", "threshold")))
    )
    order: dict[str, int] = {
        Goal.Status.ACTIVE: 0,
        Goal.Status.ACHIEVED: 1,
        Goal.Status.MISSED: 2,
        Goal.Status.CANCELLED: 3,
    }
    rows = sorted(goals, key=lambda goal: (order.get(goal.status, 9), -goal.created_at.timestamp(), -goal.pk))
    return [goal_out(goal, now=now) for goal in rows]


class GoalChoice(TypedDict):
    id: int
    title: str


class KindChoice(TypedDict):
    kind: str
    label: str


class PathsGoalsPanel(TypedDict):
    """What recommendations/_paths_goals.html shows: a student's paths and goals as `viewer` may see them, and (for
    the student themselves) what they may set a goal on."""

    student: int
    paths: list[PathProgressOut]
    goals: list[GoalOut]
    can_edit: Annotated[bool, "The viewer is the student: they may set and cancel goals."]
    every_class: Annotated[bool, "False for a teacher: only what concerns the classes they teach."]
    path_choices: list[GoalChoice]
    course_choices: list[GoalChoice]
    kinds: list[KindChoice]
    max_active: int
    as_of: datetime


def paths_goals_panel(*, viewer: User, student: User, now: datetime) -> PathsGoalsPanel:
    """The student page's "Paths and goals" part (the caller has checked that `viewer` may see `student`)."""
    every_class = sees_whole_student(viewer, student)
    course_ids = None if every_class else courses_in_common(viewer, student).values("pk")
    can_edit = viewer.pk == student.pk and student.role == Role.STUDENT
    path_choices: list[GoalChoice] = []
    course_choices: list[GoalChoice] = []
    if can_edit:
        path_choices = [
            {"id": pk, "title": title}
            for pk, title in LearningPath.objects.filter(path_filter_for_student(student))
            .order_by("title", "pk")
            .values_list("pk", "title")
        ]
        course_choices = [
            {"id": pk, "title": f"{code} — {title}"}
            for pk, code, title in Course.objects.filter(
                pk__in=Enrollment.objects.active_students().filter(user=student).values("course_id")
            )
            .order_by("code")
            .values_list("pk", "code", "title")
        ]
    return {
        "student": student.pk,
        "paths": paths_for_student(student, course_ids=course_ids),
        "goals": goals_for_student(student, now=now, course_ids=course_ids),
        "can_edit": can_edit,
        "every_class": every_class,
        "path_choices": path_choices,
        "course_choices": course_choices,
        "kinds": [{"kind": kind, "label": label} for kind, label in Goal.Kind.choices],
        "max_active": MAX_ACTIVE_GOALS,
        "as_of": now,
    }
