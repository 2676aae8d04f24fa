"""The difficulty of learning items, derived from what classmates did, where no person has set one.

Recommendations show how hard a next step is (seed 000's `difficulty`). A teacher may set it (API, admin: the item's
`difficulty_source` is then "set" and stays theirs); otherwise `difficulty_derive` fills it from the data, and a
Celery beat task calls it (the schedule lives in config/schedule.py). The rules, each from at least
MIN_STUDENTS students' data and otherwise no difficulty at all (a derived one that no longer holds is cleared):

- **Graded items** (assignments and quizzes): the mean over students of their latest scored attempt, as a share of
  the maximum it was graded against. Below 60 % the item is advanced, below 80 % intermediate, else beginner: the
  usual pass / merit bands of a marking scheme, where a class averaging under 60 % found the work hard. Read from
  classroom's submissions, not from events' `score_scaled`: every hand-in event is recorded as a submission
  (classroom.services.submissions_record_from_events), so reading both would count it twice, and OULAD's imported
  hand-ins carry raw scores only.
- **Other items** (lessons, resources, videos): the median over students of their total time on the item (the
  `duration_seconds` of their events there), placed among the course's other such items with enough data: the
  third with the longest medians is advanced, the middle third intermediate, the shortest third beginner (an item
  whose median equals another's gets the same level). At least MIN_ITEMS_FOR_TIME items per course are needed to
  speak of thirds. OULAD's events carry clicks, no durations, so its reading items stay without a difficulty.

No selector reads these per-item figures yet, so the two reads are here (one query each, over the courses asked
for); the write goes through classroom.services.learning_items_difficulty_derived_set, which skips items a person
set, in the same statement.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet, Sum

from analytics.models import LearningEvent
from classroom.models import Difficulty, DifficultySource, LearningItem, Submission
from classroom.services import GRADED_KINDS, learning_items_difficulty_derived_set

# Fewer students than this say more about those students than about the item (and the class pages withhold
# figures of groups under five alike).
MIN_STUDENTS = 5
# Mean share of the maximum below which a graded item is advanced / intermediate.
ADVANCED_BELOW = Decimal("0.6")
INTERMEDIATE_BELOW = Decimal("0.8")
# Items of a course with enough time data needed before their medians are split into thirds.
MIN_ITEMS_FOR_TIME = 3
# Rows read per round trip from the submissions and the event sums.
CHUNK = 10_000


def level_from_score(mean_share: Decimal) -> str:
    """The difficulty of a graded item whose students scored `mean_share` of the maximum on average."""
    if mean_share < ADVANCED_BELOW:
        return Difficulty.ADVANCED.value
    if mean_share < INTERMEDIATE_BELOW:
        return Difficulty.INTERMEDIATE.value
    return Difficulty.BEGINNER.value


def levels_from_times(medians: Mapping[int, float]) -> dict[int, str]:
    """One course's ungraded items by their students' median time (item id → seconds): the longest third
    advanced, the middle third intermediate, the shortest third beginner, by the share of the course's items with a
    strictly shorter median (ties share a level). Too few items to speak of thirds: none."""
    if len(medians) < MIN_ITEMS_FOR_TIME:
        return {}
    values = list(medians.values())
    levels = {}
    for item_id, median in medians.items():
        shorter = sum(other < median for other in values) / len(values)
        if shorter < 1 / 3:
            levels[item_id] = Difficulty.BEGINNER.value
        elif shorter < 2 / 3:
            levels[item_id] = Difficulty.INTERMEDIATE.value
        else:
            levels[item_id] = Difficulty.ADVANCED.value
    return levels


def latest_score_shares(submissions: QuerySet[Submission]) -> dict[tuple[int, int], Decimal]:
    """(item, student) → the student's latest scored attempt among `submissions`, as a share of its maximum (one
    query). Also the recommendations' mastery gaps (recommendations.services)."""
    latest: dict[tuple[int, int], Decimal] = {}
    rows = (
        submissions.filter(score__isnull=False, max_points__gt=0)
        .order_by("item_id", "student_id", "attempt")
        .values_list("item_id", "student_id", "score", "max_points")
    )
    for item_id, student_id, score, maximum in rows.iterator(chunk_size=CHUNK):
        if score is not None and maximum:  # as filtered
            latest[(item_id, student_id)] = score / maximum  # later attempts replace earlier ones
    return latest


def _score_shares(item_ids: list[int]) -> dict[int, list[Decimal]]:
    """Graded item → each student's latest scored attempt as a share of its maximum (one query)."""
    shares: dict[int, list[Decimal]] = defaultdict(list)
    for (item_id, _), share in latest_score_shares(Submission.objects.filter(item_id__in=item_ids)).items():
        shares[item_id].append(share)
    return shares


def item_time_medians(
    *,
    course_ids: list[int] | None,
    item_ids: set[int],
    min_students: int = MIN_STUDENTS,
    before: datetime | None = None,
) -> dict[int, float]:
    """Item → the median of its students' total seconds on it (events before `before`, when given), for items with
    `min_students` students' time (one query over the courses' events with a duration). Also the recommendations'
    measured time of an item (recommendations.services)."""
    events = LearningEvent.objects.filter(item_id__isnull=False, duration_seconds__gt=0)
    if course_ids is not None:
        events = events.filter(course_id__in=course_ids)
    if before is not None:
        events = events.filter(occurred_at__lt=before)
    per_student = (
        events.values("item_id", "actor_id").annotate(seconds=Sum("duration_seconds")).values_list("item_id", "seconds")
    )
    seconds: dict[int, list[int]] = defaultdict(list)
    for item_id, total in per_student.order_by().iterator(chunk_size=CHUNK):
        if item_id in item_ids:
            seconds[item_id].append(total)
    return {
        item_id: float(statistics.median(totals)) for item_id, totals in seconds.items() if len(totals) >= min_students
    }


def difficulty_derive(*, course_ids: Iterable[int] | None = None) -> int:
    """Derive the difficulty of the items of `course_ids` (every course when None) whose difficulty no person set,
    from their students' scores and time (the module's docstring has the rules), and store it; an item without
    enough data gets none. Returns how many items changed. Idempotent: a second run with the same data changes
    nothing."""
    wanted = None if course_ids is None else list(course_ids)
    items = LearningItem.objects.exclude(difficulty_source=DifficultySource.SET)
    if wanted is not None:
        items = items.filter(module__course_id__in=wanted)
    graded: list[int] = []
    ungraded_by_course: dict[int, set[int]] = defaultdict(set)
    for item_id, kind, course_id in items.values_list("id", "kind", "module__course_id").order_by():
        if kind in GRADED_KINDS:
            graded.append(item_id)
        else:
            ungraded_by_course[course_id].add(item_id)
    levels: dict[int, str] = dict.fromkeys(graded, "")
    for item_ids in ungraded_by_course.values():
        levels.update(dict.fromkeys(item_ids, ""))
    if not levels:
        return 0

    for item_id, shares in _score_shares(graded).items():
        if len(shares) >= MIN_STUDENTS:
            levels[item_id] = level_from_score(sum(shares, Decimal(0)) / len(shares))

    ungraded = {item_id for item_ids in ungraded_by_course.values() for item_id in item_ids}
    medians = item_time_medians(course_ids=wanted, item_ids=ungraded)
    for item_ids in ungraded_by_course.values():
        levels.update(levels_from_times({item_id: medians[item_id] for item_id in item_ids if item_id in medians}))

    return learning_items_difficulty_derived_set(levels=levels)
