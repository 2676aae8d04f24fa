"""The next-step engine: which unopened items of a class a student is likely to open next, and the facts behind it.

Pure numpy over one class's views (who opened which item on which day), so the service, the training job and the
offline benchmark (bench/recommendations.py) run the very same code. Nothing here reads the database.

For a cut-off day `c`, every (student, item not yet opened by them) pair gets features computed only from views
before `c` (docs/decisions/0015-recommendations.md):
- the class's recent behaviour: share of classmates who opened the item in the last 7 days and the 7 before, the
  share who first opened it in the last 7 days among those who had not before (its "uptake"), the share who ever did;
- the course's structure: when the class took the item up (median first-open day) against the student's own
  position (the median take-up day of what they opened in their last two active weeks), the item's planned week
  against the course's current week, its type;
- the student: activity so far, share of the course opened, items opened in the last 7 days, days since last seen,
  uptake among classmates of similar activity, their affinity for the item's type;
- neighbours a week earlier: the classmates whose history a week ago most resembled the student's today, and what
  they opened in the week that followed (a time-shifted nearest-neighbour vote).

A ranker (recommendations.ranker: gradient boosting learned from what students went on to open, per school) turns
the features into a probability; without one, `heuristic_scores` blends uptake, popularity and the neighbour vote.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

NEVER = np.int32(2**30)  # "no view": larger than any day ordinal
WINDOW = 7
NEIGHBOURS = 20
ACTIVITY_TYPES = ("resource", "oucontent", "subpage", "url", "forumng", "quiz", "homepage", "page")
FEATURES = (
    "class_opened_7d",
    "class_opened_prev_7d",
    "class_uptake_7d",
    "class_opened_ever",
    "weeks_since_class_took_up",
    "weeks_since_first_opened",
    "planned_week_offset",
    "student_activity_log",
    "student_share_opened",
    "student_items_7d",
    "student_days_since_seen",
    "takeup_vs_student_position",
    "uptake_similar_activity",
    "opened_7d_similar_activity",
    "student_type_affinity",
    *(f"type_{name}" for name in ACTIVITY_TYPES),
    "neighbours_next_week",
)

IntArray = npt.NDArray[np.int32]
FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass
class CourseViews:
    """One class: its students and items (sorted ids), and every (student, item, day) view as index arrays."""

    course_id: int
    student_ids: npt.NDArray[np.int64]
    item_ids: npt.NDArray[np.int64]
    item_types: list[str]  # the source's activity type, else the item's kind
    item_weeks: FloatArray  # planned week (week_from), -1 when none
    start_day: int | None  # the course's first day (ordinal), for its current week
    student_index: IntArray = field(default_factory=lambda: np.zeros(0, np.int32))
    item_index: IntArray = field(default_factory=lambda: np.zeros(0, np.int32))
    days: IntArray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.student_ids), len(self.item_ids)


@dataclass
class Context:
    """What the views before day `cut` say, as (students x items) matrices."""

    views: CourseViews
    cut: int
    first: IntArray  # first view day, NEVER when none before `cut`
    last_7d: BoolArray  # viewed in [cut - 7, cut)
    prev_7d: BoolArray  # viewed in [cut - 14, cut - 7)
    activity: npt.NDArray[np.int64]  # item-days viewed before `cut`, per student

    @property
    def opened(self) -> BoolArray:
        return self.first < NEVER


def context_at(views: CourseViews, cut: int) -> Context:
    shape = views.shape
    before = views.days < cut
    s, i, d = views.student_index[before], views.item_index[before], views.days[before]
    first = np.full(shape, NEVER, np.int32)
    np.minimum.at(first, (s, i), d)
    last_7d = np.zeros(shape, bool)
    recent = d >= cut - WINDOW
    last_7d[s[recent], i[recent]] = True
    prev_7d = np.zeros(shape, bool)
    previous = (d >= cut - 2 * WINDOW) & ~recent
    prev_7d[s[previous], i[previous]] = True
    activity = np.bincount(s, minlength=shape[0]).astype(np.int64)
    return Context(views=views, cut=cut, first=first, last_7d=last_7d, prev_7d=prev_7d, activity=activity)


@dataclass
class ItemFacts:
    """Course-level counts behind the features, kept for the reasoning (each recomputable from stored views)."""

    classmates: int  # students of the class (the student is counted out where it matters: see reasoning)
    opened_7d: IntArray  # students who opened the item in the last 7 days
    new_7d: IntArray  # students who first opened it in the last 7 days
    not_before_7d: IntArray  # students who had not opened it 7 days ago
    takeup_day: FloatArray  # median first-open day of those who opened it (NaN when nobody)
    current_week: int | None


@dataclass
class Scored:
    """Features, facts and the neighbour vote for one cut-off of one class."""

    context: Context
    features: FloatArray  # students x items x len(FEATURES)
    facts: ItemFacts
    neighbours: IntArray  # students x NEIGHBOURS: indexes of each student's time-shifted neighbours
    neighbour_weights: FloatArray  # their similarity (0 for a padded slot)
    neighbours_opened: FloatArray  # students x items: how many of those neighbours opened it in the following week


def _time_shifted_neighbours(ctx: Context) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
    """For each student, the classmates whose opened items a week ago most resemble the student's today (cosine),
    and the weighted share of them who opened each item in the week after."""
    cut = ctx.cut
    now = (ctx.first < cut).astype(np.float32)
    past = (ctx.first < cut - WINDOW).astype(np.float32)
    newly = ((ctx.first >= cut - WINDOW) & (ctx.first < cut)).astype(np.float32)
    students = now.shape[0]
    k = min(NEIGHBOURS, max(students - 1, 0))
    if k == 0:
        zeros = np.zeros(now.shape, np.float32)
        return np.zeros((students, 0), np.int32), np.zeros((students, 0), np.float32), zeros, zeros
    norm_now = np.linalg.norm(now, axis=1) + 1e-6
    norm_past = np.linalg.norm(past, axis=1) + 1e-6
    similarity = (now @ past.T) / norm_now[:, None] / norm_past[None, :]
    np.fill_diagonal(similarity, -1.0)
    index = np.argpartition(-similarity, k - 1, axis=1)[:, :k].astype(np.int32)
    weights = np.clip(np.take_along_axis(similarity, index, 1), 0, None).astype(np.float32)
    opened = newly[index]  # students x k x items
    vote = np.einsum("sk,ski->si", weights, opened) / (weights.sum(1, keepdims=True) + 1e-9)
    count = (opened * (weights[:, :, None] > 0)).sum(1)
    return index, weights, vote.astype(np.float32), count.astype(np.float32)


def score_context(ctx: Context) -> Scored:
    views = ctx.views
    students, items = views.shape
    cut = ctx.cut
    first = ctx.first
    opened = first < NEVER
    others = max(students - 1, 1)

    opened_7d = ctx.last_7d.sum(0).astype(np.int32)
    prev = ctx.prev_7d.sum(0) / others
    new_7d = ((first >= cut - WINDOW) & opened).sum(0).astype(np.int32)
    not_before = (first >= cut - WINDOW).sum(0).astype(np.int32)
    uptake = new_7d / (not_before + 5.0)
    ever = opened.sum(0) / others

    days = np.where(opened, first, np.nan).astype(np.float64)
    counts = opened.sum(0)
    takeup = np.full(items, np.nan)
    if opened.any():
        takeup[counts > 0] = np.nanmedian(days[:, counts > 0], axis=0)
    takeup_filled = np.where(np.isnan(takeup), cut + WINDOW, takeup)
    weeks_since_takeup = (cut - takeup_filled) / 7.0
    earliest = np.where(counts > 0, first.min(0), cut + WINDOW)
    weeks_since_first = (cut - earliest) / 7.0
    current_week = None if views.start_day is None else (cut - views.start_day) // 7 + 1
    planned = views.item_weeks
    planned_offset = (
        np.full(items, -99.0) if current_week is None else np.where(planned >= 0, planned - current_week, -99.0)
    )

    activity = ctx.activity.astype(np.float64)
    activity_log = np.log1p(activity)
    share = opened.sum(1) / max(items, 1)
    recent = ctx.last_7d.sum(1)
    seen_any = opened.any(1)
    # the last day a student viewed anything before the cut (`first` holds first views only: from the rows)
    before = views.days < cut
    last_day = np.full(students, -1, np.int64)
    np.maximum.at(last_day, views.student_index[before], views.days[before])
    days_since_seen = np.where(last_day >= 0, cut - last_day, 60).astype(np.float64)
    window_start = np.where(seen_any, last_day - 2 * WINDOW, 0)
    own_recent = opened & (first >= window_start[:, None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a student with no view: an all-NaN row, filled below
        position = np.nanmedian(np.where(own_recent, takeup_filled[None, :], np.nan), axis=1)
    position = np.where(np.isnan(position), cut, position)
    takeup_vs_position = (takeup_filled[None, :] - position[:, None]) / 7.0

    uptake_similar = np.zeros((students, items))
    opened_similar = np.zeros((students, items))
    if students >= 3:
        bounds = np.quantile(activity_log, [1 / 3, 2 / 3])
        group = np.digitize(activity_log, bounds)
        for g in range(3):
            members = group == g
            if not members.any():
                continue
            f = first[members]
            uptake_similar[members] = (((f >= cut - WINDOW) & (f < NEVER)).sum(0) / ((f >= cut - WINDOW).sum(0) + 5.0))[
                None, :
            ]
            opened_similar[members] = (ctx.last_7d[members].sum(0) / members.sum())[None, :]

    types = np.array([[1.0 if t == name else 0.0 for name in ACTIVITY_TYPES] for t in views.item_types]).reshape(
        items, len(ACTIVITY_TYPES)
    )
    by_type = opened.astype(np.float64) @ types
    affinity = (by_type / (by_type.sum(1, keepdims=True) + 1.0)) @ types.T

    index, weights, vote, count = _time_shifted_neighbours(ctx)

    def per_item(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
        return np.broadcast_to(np.asarray(values, np.float32)[None, :], (students, items))

    def per_student(values: npt.ArrayLike) -> npt.NDArray[np.float32]:
        return np.broadcast_to(np.asarray(values, np.float32)[:, None], (students, items))

    columns = [
        per_item(opened_7d / others),
        per_item(prev),
        per_item(uptake),
        per_item(ever),
        per_item(weeks_since_takeup),
        per_item(weeks_since_first),
        per_item(planned_offset),
        per_student(activity_log),
        per_student(share),
        per_student(recent),
        per_student(days_since_seen),
        takeup_vs_position.astype(np.float32),
        uptake_similar.astype(np.float32),
        opened_similar.astype(np.float32),
        affinity.astype(np.float32),
        *(per_item(types[:, k]) for k in range(len(ACTIVITY_TYPES))),
        vote,
    ]
    features = np.stack(columns, axis=-1).astype(np.float32)
    facts = ItemFacts(
        classmates=students,
        opened_7d=opened_7d,
        new_7d=new_7d,
        not_before_7d=not_before,
        takeup_day=takeup.astype(np.float32),
        current_week=current_week,
    )
    return Scored(
        context=ctx,
        features=features,
        facts=facts,
        neighbours=index,
        neighbour_weights=weights,
        neighbours_opened=count,
    )


def heuristic_scores(scored: Scored) -> FloatArray:
    """Without a trained ranker: uptake and popularity of the last week, and the neighbours' vote."""
    f = scored.features
    column = FEATURES.index
    popularity = f[..., column("class_opened_7d")]
    uptake = f[..., column("class_uptake_7d")]
    vote = f[..., column("neighbours_next_week")]
    top = max(float(popularity.max(initial=0.0)), 1e-9)
    return ((0.5 * popularity / top) + uptake + vote).astype(np.float32)


def top_items(scores: npt.NDArray[np.floating[Any]], excluded: BoolArray, k: int) -> npt.NDArray[np.int64]:
    """Per student, the indexes of the k best items not excluded (ties: lower item id first); -1 pads."""
    masked = np.where(excluded, -np.inf, scores.astype(np.float64))
    order = np.argsort(-masked, axis=1, kind="stable")[:, :k]
    chosen = np.take_along_axis(masked, order, 1)
    return np.where(np.isfinite(chosen), order, -1)


def popularity_scores(ctx: Context) -> FloatArray:
    """The baseline: how many classmates opened each item in the last 7 days."""
    students, items = ctx.views.shape
    return np.broadcast_to(ctx.last_7d.sum(0).astype(np.float32)[None, :], (students, items))
