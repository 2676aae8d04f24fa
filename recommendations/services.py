"""Writing recommendations: a class's next steps for its students, feedback on them, and what became of them.

`refresh_course` is the one path from data to rows: the engine ranks the unopened items of the class, then each
student's list is composed of graded work due within 7 days they have not handed in (activity), modules where their
scores trail the class (skill, with that module's material lifted in the ranking), and the ranked items (resource or
activity by kind) — never an item they opened, dismissed or rated down within RECOMMENDATIONS_DISMISS_DAYS. Every
recommendation keeps the facts that produced it (`signals`) and a reasoning written only from them
(recommendations.reasoning), so each figure can be recomputed from stored data.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from analytics.models import StudentItemDay
from classroom.models import Course, Enrollment, LearningItem, Submission, active_student_filter
from classroom.selectors import course_zone
from core.exceptions import ApplicationError
from core.realtime import group_send_many
from gamification.services import student_group
from recommendations import engine, ranker
from recommendations.difficulty import item_time_medians, latest_score_shares
from recommendations.models import Category, PathProgress, Recommendation, RecommendationFeedback
from recommendations.reasoning import reasoning_from
from recommendations.selectors import class_feedback, course_items, course_views, recently_declined

logger = logging.getLogger(__name__)

STRATEGY_RANKED = "ranker-v1"
STRATEGY_HEURISTIC = "heuristic-v1"
PER_STUDENT = 10
DUE_SOON_DAYS = 7
MAX_DUE = 3
MAX_SKILLS = 2
GAP_POINTS = 10  # a module is a gap when the student's mean score trails the class's by this many points
MIN_SCORED = 3  # classmates with a score in the module before a gap is named
GAP_LIFT = 1.5
MIN_TIMED = 3  # classmates with time on an item before their median time is its estimate
GRADED = (LearningItem.Kind.QUIZ, LearningItem.Kind.ASSIGNMENT)
ACTIVITY_KINDS = (LearningItem.Kind.QUIZ, LearningItem.Kind.ASSIGNMENT, LearningItem.Kind.VIDEO)


@dataclass(frozen=True)
class RefreshResult:
    students: int
    written: int


def category_of(kind: str) -> str:
    return Category.ACTIVITY if kind in ACTIVITY_KINDS else Category.RESOURCE


def _class_students(course: Course, whole_class: bool) -> list[int]:
    if whole_class:
        return ranker.class_students(course)
    return list(Enrollment.objects.filter(active_student_filter(), course=course).values_list("user_id", flat=True))


def _module_scores(course: Course, module_of: dict[int, int], before: datetime) -> dict[tuple[int, int], float]:
    """(student, module) → the mean percent of the student's latest scored attempts in the module, before `before`."""
    latest = latest_score_shares(Submission.objects.filter(item__module__course=course, submitted_at__lt=before))
    totals: dict[tuple[int, int], list[Decimal]] = defaultdict(list)
    for (item_id, student_id), share in latest.items():
        totals[(student_id, module_of[item_id])].append(share * 100)
    return {key: float(sum(values) / len(values)) for key, values in totals.items()}


def _handed_in(course: Course, item_ids: list[int], before: datetime) -> dict[int, set[int]]:
    """Graded item → students who handed it in before `before`."""
    result: dict[int, set[int]] = defaultdict(set)
    rows = Submission.objects.filter(item_id__in=item_ids, submitted_at__lt=before).values_list("item_id", "student_id")
    for item_id, student_id in rows:
        result[item_id].add(student_id)
    return result


def _prerequisites(item_ids: list[int]) -> dict[int, list[int]]:
    """Item → the items that should come first (classroom's prerequisites)."""
    through = LearningItem.prerequisites.through
    result: dict[int, list[int]] = defaultdict(list)
    for item_id, required_id in through.objects.filter(from_learningitem_id__in=item_ids).values_list(
        "from_learningitem_id", "to_learningitem_id"
    ):
        result[item_id].append(required_id)
    return result


def _done(student_ids: list[int], item_ids: set[int]) -> set[tuple[int, int]]:
    """(student, item) pairs of items the student viewed, completed or handed in: what a prerequisite asks."""
    if not item_ids:
        return set()
    seen = set(
        StudentItemDay.objects.filter(student_id__in=student_ids, item_id__in=item_ids)
        .values_list("student_id", "item_id")
        .distinct()
    )
    handed = Submission.objects.filter(student_id__in=student_ids, item_id__in=item_ids, submitted_at__isnull=False)
    return seen | set(handed.values_list("student_id", "item_id"))


def _path_steps(student_ids: list[int], course: Course) -> dict[int, list[dict[str, Any]]]:
    """Per student, the current step of each learning path they follow whose step lies in this class."""
    rows = PathProgress.objects.filter(
        student_id__in=student_ids,
        current_step__isnull=False,
        completed_at__isnull=True,
        current_step__item__module__course=course,
    ).values_list(
        "student_id", "path__title", "current_step__item_id", "current_step__position", "steps_total", "steps_completed"
    )
    result: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for student_id, title, item_id, position, total, completed in rows:
        result[student_id].append(
            {
                "kind": "path_next",
                "item_id": item_id,
                "path": title,
                "step": position,
                "steps": total,
                "completed": completed,
            }
        )
    return result


def _measured_minutes(course: Course, item_ids: list[int], before: datetime) -> dict[int, int]:
    """Item → the median of classmates' total minutes on it (event durations), with MIN_TIMED students or more."""
    seconds = item_time_medians(course_ids=[course.pk], item_ids=set(item_ids), min_students=MIN_TIMED, before=before)
    return {item_id: max(1, round(median / 60)) for item_id, median in seconds.items()}


def _mastery_gaps(
    course: Course, items: list[dict[str, Any]], as_of: datetime, class_ids: set[int], wanted: set[int]
) -> dict[int, list[dict[str, Any]]]:
    """Per wanted student, the modules where their mean score trails the rest of the class's by GAP_POINTS or more
    (with MIN_SCORED classmates scored there), as mastery_gap signals."""
    module_scores = _module_scores(course, {item["id"]: item["module_id"] for item in items}, as_of)
    module_titles = {item["module_id"]: item["module__title"] for item in items}
    class_means: dict[int, list[float]] = defaultdict(list)
    for (student_id, module_id), percent in module_scores.items():
        if student_id in class_ids:
            class_means[module_id].append(percent)
    gaps: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (student_id, module_id), percent in module_scores.items():
        if student_id not in wanted:
            continue
        others = list(class_means[module_id])
        others.remove(percent)
        if len(others) < MIN_SCORED:
            continue
        class_mean = sum(others) / len(others)
        if class_mean - percent >= GAP_POINTS:
            gaps[student_id].append(
                {
                    "kind": "mastery_gap",
                    "module_id": module_id,
                    "module": module_titles.get(module_id, ""),
                    "student_mean": round(percent, 1),
                    "class_mean": round(class_mean, 1),
                    "classmates_scored": len(others),
                }
            )
    return gaps


def refresh_course(
    *,
    course: Course,
    as_of: datetime | None = None,
    student_ids: list[int] | None = None,
    whole_class: bool = False,
    announce: bool = False,
    now: datetime | None = None,
) -> RefreshResult:
    """Recommend for the class's students (or those of `student_ids` among them) as of `as_of` (default now).
    `whole_class`: every student ever enrolled (the benchmark's past classes) instead of the active ones."""
    now = now or timezone.now()
    as_of = as_of or now
    zone = course_zone(course)
    today = as_of.astimezone(zone).date()
    cut = today.toordinal()
    classmates = _class_students(course, whole_class)
    wanted = set(classmates) if student_ids is None else set(student_ids) & set(classmates)
    if not wanted:
        return RefreshResult(0, 0)
    items = course_items(course.pk)
    # views through today: today's own views exclude items just opened; features use the days before today
    views = course_views(course=course, student_ids=classmates, items=items, until=today + timedelta(days=1))
    ctx = engine.context_at(views, cut)
    scored = engine.score_context(ctx)
    version = ranker.latest_version(course.organization_id, before=as_of)
    scores = ranker.ranker_scores(version, scored).astype(np.float64)
    strategy = STRATEGY_RANKED if version is not None else STRATEGY_HEURISTIC

    opened_now = ctx.opened.copy()
    today_views = views.days == cut
    opened_now[views.student_index[today_views], views.item_index[today_views]] = True
    item_position = {int(item_id): index for index, item_id in enumerate(views.item_ids)}
    student_position = {int(student_id): index for index, student_id in enumerate(views.student_ids)}
    by_id = {item["id"]: item for item in items}

    excluded = opened_now.copy()
    graded = np.array([item["kind"] in GRADED for item in items], bool)
    excluded[:, graded] = True  # graded work is suggested by its due date (below), not by views
    dismiss_since = now - timedelta(days=settings.RECOMMENDATIONS_DISMISS_DAYS)
    for student_id, item_id in recently_declined(student_ids=sorted(wanted), since=dismiss_since):
        if student_id in student_position and item_id in item_position:
            excluded[student_position[student_id], item_position[item_id]] = True
    # items whose prerequisites the student has not done wait for them
    required = _prerequisites([item["id"] for item in items])
    if required:
        met = _done(sorted(wanted), {r for needed in required.values() for r in needed})
        for item_id, needed in required.items():
            column = item_position[item_id]
            for student_id in wanted:
                if any((student_id, r) not in met for r in needed):
                    excluded[student_position[student_id], column] = True
    for item_id, mean in class_feedback(course.pk).items():
        if item_id in item_position:
            scores[:, item_position[item_id]] *= 1 + 0.1 * (mean - 3)  # 0.8 (all 1s) … 1.2 (all 5s)

    # mastery gaps: modules where the student's scores trail the class's
    gaps = _mastery_gaps(course, items, as_of, set(student_position), wanted)
    for student_id, found in gaps.items():
        found.sort(key=lambda gap: gap["student_mean"] - gap["class_mean"])
        row = student_position[student_id]
        for gap in found[:MAX_SKILLS]:
            in_module = [item_position[i["id"]] for i in items if i["module_id"] == gap["module_id"]]
            scores[row, in_module] *= GAP_LIFT

    # graded work due within 7 days, not handed in
    due_until = as_of + timedelta(days=DUE_SOON_DAYS)
    due_items = [
        item for item in items if item["kind"] in GRADED and item["due_at"] and as_of <= item["due_at"] < due_until
    ]
    handed = _handed_in(course, [item["id"] for item in due_items], as_of)

    path_steps = _path_steps(sorted(wanted), course)
    minutes = _measured_minutes(course, [item["id"] for item in items], as_of)
    for item in items:
        if not item["estimated_minutes"] and item["id"] in minutes:
            item["estimated_minutes"] = minutes[item["id"]]
            item["time_source"] = "classmates"
    top = float(scores.max(initial=0.0)) or 1.0
    chosen = engine.top_items(scores, excluded, PER_STUDENT)
    evidence = min(1.0, (len(classmates) - 1) / 30) * (1.0 if version is not None else 0.7)
    expires = as_of + timedelta(hours=settings.RECOMMENDATIONS_TTL_HOURS)

    rows: list[Recommendation] = []
    for student_id in sorted(wanted):
        row = student_position[student_id]
        entries: list[Recommendation] = []
        add = partial(
            _append, entries, course=course, student_id=student_id, strategy=strategy, now=now, expires=expires
        )

        for item in sorted(due_items, key=lambda i: i["due_at"])[:MAX_DUE]:
            if student_id in handed[item["id"]]:
                continue
            handed_in = len(handed[item["id"]] & set(classmates) - {student_id})
            signals = [
                {
                    "kind": "due_soon",
                    "due_at": item["due_at"].isoformat(),
                    "days_left": max(0, (item["due_at"] - as_of).days),
                    "handed_in": handed_in,
                    "classmates": len(classmates) - 1,
                }
            ]
            add(**_item_fields(item, signals, relevance=1.0, confidence=1.0, category=Category.ACTIVITY))
        for step in path_steps.get(student_id, []):
            index = item_position.get(step["item_id"])
            # the current step stays suggested until it is completed, opened or not
            if index is None or any(e.item_id == step["item_id"] for e in entries):
                continue
            item = by_id[step["item_id"]]
            signals = [{k: v for k, v in step.items() if k != "item_id"}]
            add(**_item_fields(item, signals, relevance=1.0, confidence=1.0, category=category_of(item["kind"])))
        for gap in gaps.get(student_id, [])[:MAX_SKILLS]:
            signals = [gap]
            add(
                module_id=gap["module_id"],
                category=Category.SKILL,
                title=f"Strengthen {gap['module']}" if gap["module"] else "Strengthen this module",
                relevance_score=round(min(1.0, (gap["class_mean"] - gap["student_mean"]) / 50), 3),
                confidence=round(min(1.0, gap["classmates_scored"] / 10), 3),
                reasoning=reasoning_from(signals),
                signals=signals,
            )
        for index in chosen[row]:
            if index < 0 or len(entries) >= PER_STUDENT:
                break
            item = by_id[int(views.item_ids[index])]
            if any(entry.item_id == item["id"] for entry in entries):
                continue
            signals = _ranked_signals(scored, row, int(index), len(classmates))
            for gap in gaps.get(student_id, [])[:MAX_SKILLS]:
                if gap["module_id"] == item["module_id"]:
                    signals.append(gap)
            add(
                **_item_fields(
                    item,
                    signals,
                    relevance=round(float(min(1.0, max(0.0, scores[row, index] / top))), 3),
                    confidence=round(evidence, 3),
                    category=category_of(item["kind"]),
                )
            )
        rows.extend(entries)

    with transaction.atomic():
        _write(course, wanted, rows)
        if announce:
            messages = [(student_group(s), {"type": "recommendations.updated", "student": s}) for s in sorted(wanted)]
            transaction.on_commit(lambda: group_send_many(messages))
    return RefreshResult(students=len(wanted), written=len(rows))


# What a refresh rewrites on a recommendation that stays (same student, category, item or module): its id, what
# the student did with it (shown, opened, feedback) and when it was first made are kept.
KEPT_FIELDS_REWRITTEN = [
    "rank",
    "relevance_score",
    "confidence",
    "reasoning",
    "signals",
    "title",
    "description",
    "prerequisites",
    "expected_outcomes",
    "difficulty",
    "estimated_minutes",
    "estimated_time_source",
    "tags",
    "strategy",
    "expires_at",
]


def _key(recommendation: Recommendation) -> tuple[int, str, int | None, int | None]:
    return (recommendation.student_id, recommendation.category, recommendation.item_id, recommendation.module_id)


def _write(course: Course, wanted: set[int], rows: list[Recommendation]) -> None:
    """Replace the students' active recommendations of the class by `rows`: one still suggested keeps its row
    (rewritten), the others are superseded, the new ones inserted."""
    active = Recommendation.objects.filter(course=course, student_id__in=wanted, status=Recommendation.Status.ACTIVE)
    existing = {_key(row): row for row in active.only("pk", "student_id", "category", "item_id", "module_id")}
    kept: list[Recommendation] = []
    new: list[Recommendation] = []
    for row in rows:
        old = existing.pop(_key(row), None)
        if old is None:
            new.append(row)
        else:
            row.pk = old.pk
            kept.append(row)
    if existing:
        Recommendation.objects.filter(pk__in=[row.pk for row in existing.values()]).update(
            status=Recommendation.Status.SUPERSEDED
        )
    Recommendation.objects.bulk_update(kept, KEPT_FIELDS_REWRITTEN, batch_size=2000)
    Recommendation.objects.bulk_create(new, batch_size=5000)


def _append(
    entries: list[Recommendation],
    *,
    course: Course,
    student_id: int,
    strategy: str,
    now: datetime,
    expires: datetime,
    **fields: Any,
) -> None:
    entries.append(
        Recommendation(
            organization_id=course.organization_id,
            student_id=student_id,
            course_id=course.pk,
            rank=len(entries) + 1,
            strategy=strategy,
            created_at=now,
            expires_at=expires,
            **fields,
        )
    )


def _item_fields(
    item: dict[str, Any], signals: list[dict[str, Any]], *, relevance: float, confidence: float, category: str
) -> dict[str, Any]:
    return {
        "item_id": item["id"],
        "module_id": item["module_id"],
        "category": category,
        "kind": item["kind"],
        "title": item["title"][:300],
        "description": item["module__title"][:500],
        "relevance_score": relevance,
        "confidence": confidence,
        "reasoning": reasoning_from(signals),
        "signals": signals,
        "prerequisites": list(item["prerequisite_skills"]),
        "expected_outcomes": list(item["expected_outcomes"]),
        "difficulty": item["difficulty"],
        "estimated_minutes": item["estimated_minutes"],
        "estimated_time_source": item.get("time_source", "item") if item["estimated_minutes"] else "",
        "tags": list(item["tags"]),
    }


def _ranked_signals(scored: engine.Scored, row: int, index: int, class_size: int) -> list[dict[str, Any]]:
    """The facts behind a ranked item for one student (see recommendations.reasoning for the words)."""
    facts = scored.facts
    cut = scored.context.cut
    signals: list[dict[str, Any]] = [
        {
            "kind": "class_recent",
            "opened_7d": int(facts.opened_7d[index]),
            "classmates": class_size - 1,
            "since": datetime.fromordinal(cut - engine.WINDOW).date().isoformat(),
        }
    ]
    newly = int(facts.new_7d[index])
    if newly:
        signals.append({"kind": "class_uptake", "new_7d": newly, "had_not_opened": int(facts.not_before_7d[index]) - 1})
    neighbours = scored.neighbours[row][scored.neighbour_weights[row] > 0]
    if len(neighbours):
        signals.append(
            {
                "kind": "similar_students",
                "opened_next_week": int(scored.neighbours_opened[row, index]),
                "neighbours": len(neighbours),
            }
        )
    planned = float(scored.context.views.item_weeks[index])
    if planned >= 0 and facts.current_week is not None:
        signals.append({"kind": "planned_week", "week": int(planned), "current_week": int(facts.current_week)})
    return signals


def refresh_students(*, student_ids: list[int], now: datetime | None = None) -> int:
    """Refresh these students' next steps in each class they are active in (after their events); announces live."""
    now = now or timezone.now()
    courses = Course.objects.filter(
        enrollments__user_id__in=student_ids, enrollments__role="student", enrollments__status="active"
    ).distinct()
    written = 0
    for course in courses:
        written += refresh_course(course=course, student_ids=student_ids, announce=True, now=now).written
    return written


def refresh_all(*, now: datetime | None = None) -> int:
    """Nightly: every running class's active students."""
    now = now or timezone.now()
    today = now.date()
    courses = Course.objects.exclude(end_date__lt=today - timedelta(days=1)).exclude(start_date__gt=today)
    return sum(refresh_course(course=course, now=now).students for course in courses)


def recommendation_shown(*, recommendations: list[Recommendation], now: datetime) -> None:
    ids = [r.pk for r in recommendations if r.shown_at is None]
    if ids:
        Recommendation.objects.filter(pk__in=ids, shown_at__isnull=True).update(shown_at=now)


def recommendation_clicked(*, recommendation: Recommendation, now: datetime) -> Recommendation:
    Recommendation.objects.filter(pk=recommendation.pk, clicked_at__isnull=True).update(clicked_at=now)
    recommendation.refresh_from_db()
    return recommendation


def recommendation_dismiss(*, recommendation: Recommendation, now: datetime) -> list[Recommendation]:
    """Dismiss one active next step; the student's list is refreshed at once (the item is left out for
    RECOMMENDATIONS_DISMISS_DAYS), so a replacement takes its place."""
    if recommendation.status != Recommendation.Status.ACTIVE:
        raise ApplicationError(
            "Only an active recommendation can be dismissed.",
            errors={"recommendation": ["Only an active recommendation can be dismissed."]},
        )
    Recommendation.objects.filter(pk=recommendation.pk).update(status=Recommendation.Status.DISMISSED, dismissed_at=now)
    if recommendation.course_id is not None:
        course = Course.objects.get(pk=recommendation.course_id)
        refresh_course(course=course, student_ids=[recommendation.student_id], now=now)
    return list(
        Recommendation.objects.filter(student_id=recommendation.student_id, status=Recommendation.Status.ACTIVE)
    )


def feedback_give(
    *,
    recommendation: Recommendation,
    rating: int | None,
    helpful: bool | None,
    verdict: str,
    comments: str,
    now: datetime,
) -> tuple[RecommendationFeedback, bool]:
    """The student's verdict on a recommendation; a second one updates the first. Returns (feedback, created)."""
    feedback, created = RecommendationFeedback.objects.update_or_create(
        recommendation=recommendation,
        defaults={
            "student_id": recommendation.student_id,
            "rating": rating,
            "helpful": helpful,
            "verdict": verdict,
            "comments": comments,
            "updated_at": now,
        },
        create_defaults={
            "student_id": recommendation.student_id,
            "rating": rating,
            "helpful": helpful,
            "verdict": verdict,
            "comments": comments,
            "created_at": now,
            "updated_at": now,
        },
    )
    return feedback, created


def outcomes_record(*, student_ids: list[int], now: datetime) -> int:
    """Implicit outcomes from events: a recommended item the student opened or completed within 7 days of the
    recommendation is marked clicked (if not yet) and completed. Returns the recommendations marked completed."""
    open_recs = Recommendation.objects.filter(
        student_id__in=student_ids,
        item__isnull=False,
        completed_at__isnull=True,
        created_at__gte=now - timedelta(days=7),
    ).values_list("pk", "student_id", "item_id", "created_at")
    pending = list(open_recs)
    if not pending:
        return 0
    since = min(created for *_, created in pending).date()
    seen: dict[tuple[int, int], Any] = {}
    rows = (
        StudentItemDay.objects.filter(
            student_id__in=student_ids, item_id__in={item for _, _, item, _ in pending}, day__gte=since
        )
        .values("student_id", "item_id")
        .annotate(last=Max("day"))
        .order_by()
    )
    for row in rows:
        seen[(row["student_id"], row["item_id"])] = row["last"]
    done = [
        pk
        for pk, student, item, created in pending
        if (student, item) in seen and seen[(student, item)] >= created.date()
    ]
    if done:
        Recommendation.objects.filter(pk__in=done, clicked_at__isnull=True).update(clicked_at=now)
        Recommendation.objects.filter(pk__in=done).update(completed_at=now)
    return len(done)
