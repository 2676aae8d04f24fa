"""What the at-risk model sees of an enrolment as of a moment, computed only from data strictly before that moment.

One set-based query reads the daily rollups, the items viewed, the assessments due and the submissions of every
requested (enrolment, moment) pair together with the rest of its class at that moment, so the class-relative figures
(percentile within the class, z-score of the mean score) compare a student with the classmates who were enrolled
then. "Before the moment" means: rollup days before the moment's local day in the course's time zone (a rollup day is
the finest grain stored), submissions handed in before it, assessments due before it, enrolments begun before it and
not ended by it. Final results are never read here. Protected characteristics (gender, age, disability, ethnicity,
deprivation, region) are not stored anywhere and so cannot be used.
"""

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connection

# The model's columns, in order. The class-relative ones end in _pct (percentile rank within the class at that
# moment, 0 = lowest) or _z (standard score within the class).
FEATURES: list[str] = [
    "days_elapsed",
    "course_share_elapsed",
    "enrolled_days_before_start",
    "previous_attempts",
    "events_total",
    "events_7",
    "events_14",
    "events_28",
    "active_days_total",
    "active_days_7",
    "active_days_14",
    "active_days_28",
    "days_since_activity",
    "activity_trend",
    "events_per_week",
    "distinct_items",
    "assessments_due",
    "assessments_on_time",
    "assessments_late",
    "assessments_missing",
    "missing_share",
    "submissions",
    "mean_score",
    "last_score",
    "handed_in_ahead",
    "days_early",
    "events_before_start",
    "active_weeks_share",
    "events_total_pct",
    "events_28_pct",
    "events_7_pct",
    "active_days_total_pct",
    "distinct_items_pct",
    "days_since_activity_pct",
    "submissions_pct",
    "mean_score_pct",
    "mean_score_z",
    "events_total_z",
    "days_early_pct",
    "events_14_pct",
]

# Figures ranked within the class (feature -> its class-relative column).
PERCENTILE_OF = {
    "events_total": "events_total_pct",
    "events_28": "events_28_pct",
    "events_7": "events_7_pct",
    "active_days_total": "active_days_total_pct",
    "distinct_items": "distinct_items_pct",
    "days_since_activity": "days_since_activity_pct",
    "submissions": "submissions_pct",
    "mean_score": "mean_score_pct",
    "days_early": "days_early_pct",
    "events_14": "events_14_pct",
}
ZSCORE_OF = {"mean_score": "mean_score_z", "events_total": "events_total_z"}

# Rows: every requested (enrolment, moment) pair plus its classmates at that moment ("class": the course's student
# enrolments begun before the moment and not ended by it). Each aggregate joins the rollups through their unique
# (student, course, day) index, one enrolment at a time; the items viewed are reduced first to each student's first
# view of each item so that any number of moments counts them with one pass.
FEATURES_SQL = """
WITH requested AS (
    SELECT DISTINCT r.enrollment_id, r.as_of
      FROM unnest(%(enrollment_ids)s::bigint[], %(moments)s::timestamptz[]) AS r(enrollment_id, as_of)
),
moment AS (
    SELECT DISTINCT e.course_id, r.as_of
      FROM requested r JOIN classroom_enrollment e ON e.id = r.enrollment_id
),
target AS (
    SELECT e.id AS enrollment_id, m.as_of, e.user_id, e.course_id, e.enrolled_at, c.start_date, c.end_date,
           c.subject, c.organization_id, c.time_zone, (m.as_of AT TIME ZONE c.time_zone)::date AS cut_day,
           EXISTS (SELECT 1 FROM requested r WHERE r.enrollment_id = e.id AND r.as_of = m.as_of) AS requested
      FROM moment m
      JOIN classroom_course c ON c.id = m.course_id
      JOIN classroom_enrollment e ON e.course_id = m.course_id
     WHERE e.role = 'student' AND e.enrolled_at < m.as_of AND (e.ended_at IS NULL OR e.ended_at > m.as_of)
    UNION
    -- a requested enrolment outside its class at that moment (not begun yet, or ended) still gets its figures
    SELECT e.id, r.as_of, e.user_id, e.course_id, e.enrolled_at, c.start_date, c.end_date, c.subject,
           c.organization_id, c.time_zone, (r.as_of AT TIME ZONE c.time_zone)::date, TRUE
      FROM requested r
      JOIN classroom_enrollment e ON e.id = r.enrollment_id
      JOIN classroom_course c ON c.id = e.course_id
     WHERE NOT (e.enrolled_at < r.as_of AND (e.ended_at IS NULL OR e.ended_at > r.as_of))
),
activity AS (
    SELECT t.enrollment_id, t.as_of,
           sum(d.events) AS events_total,
           coalesce(sum(d.events) FILTER (WHERE d.day >= t.cut_day - 7), 0) AS events_7,
           coalesce(sum(d.events) FILTER (WHERE d.day >= t.cut_day - 14), 0) AS events_14,
           coalesce(sum(d.events) FILTER (WHERE d.day >= t.cut_day - 28), 0) AS events_28,
           coalesce(sum(d.events) FILTER (WHERE d.day >= t.cut_day - 28 AND d.day < t.cut_day - 14), 0)
               AS events_previous_14,
           count(*) FILTER (WHERE d.events > 0) AS active_days_total,
           count(*) FILTER (WHERE d.events > 0 AND d.day >= t.cut_day - 7) AS active_days_7,
           count(*) FILTER (WHERE d.events > 0 AND d.day >= t.cut_day - 14) AS active_days_14,
           count(*) FILTER (WHERE d.events > 0 AND d.day >= t.cut_day - 28) AS active_days_28,
           max(d.day) FILTER (WHERE d.events > 0) AS last_active_day,
           coalesce(sum(d.events) FILTER (WHERE d.day < t.start_date), 0) AS events_before_start,
           count(DISTINCT (d.day - t.start_date) / 7) FILTER (WHERE d.events > 0 AND d.day >= t.start_date)
               AS active_weeks
      FROM target t
      JOIN analytics_studentdailyrollup d
        ON d.student_id = t.user_id AND d.course_id = t.course_id AND d.day < t.cut_day
     GROUP BY t.enrollment_id, t.as_of
),
first_view AS (
    SELECT v.student_id, v.course_id, v.item_id, min(v.day) AS day
      FROM analytics_studentitemday v
     WHERE v.kind = 'viewed' AND v.course_id IN (SELECT course_id FROM moment)
     GROUP BY v.student_id, v.course_id, v.item_id
),
items AS (
    SELECT t.enrollment_id, t.as_of, count(*) AS distinct_items
      FROM target t
      JOIN first_view f ON f.student_id = t.user_id AND f.course_id = t.course_id AND f.day < t.cut_day
     GROUP BY t.enrollment_id, t.as_of
),
assessment AS (
    SELECT m.course_id, i.id AS item_id, i.due_at, coalesce(i.max_points, 0) AS max_points
      FROM classroom_learningitem i
      JOIN classroom_module m ON m.id = i.module_id
     WHERE m.course_id IN (SELECT course_id FROM moment) AND i.kind IN ('quiz', 'assignment')
),
handed_in AS (
    -- each student's first attempt handed in per assessment (later attempts do not change timeliness)
    SELECT DISTINCT ON (s.student_id, s.item_id) s.student_id, s.item_id, s.submitted_at, s.state,
           s.score, coalesce(s.max_points, a.max_points) AS max_points, a.course_id, a.due_at
      FROM classroom_submission s
      JOIN assessment a ON a.item_id = s.item_id
     WHERE s.submitted_at IS NOT NULL OR s.state = 'excused'
     ORDER BY s.student_id, s.item_id, s.attempt
),
work AS (
    SELECT t.enrollment_id, t.as_of,
           count(*) FILTER (WHERE a.due_at < t.as_of
                            AND (h.state IS DISTINCT FROM 'excused' OR h.submitted_at >= t.as_of)) AS due,
           count(*) FILTER (WHERE a.due_at < t.as_of AND h.submitted_at < t.as_of
                            AND h.submitted_at <= a.due_at) AS on_time,
           count(*) FILTER (WHERE a.due_at < t.as_of AND h.submitted_at < t.as_of
                            AND h.submitted_at > a.due_at) AS late,
           count(*) FILTER (WHERE h.submitted_at < t.as_of) AS submissions,
           avg(100 * h.score / nullif(h.max_points, 0)) FILTER (WHERE h.submitted_at < t.as_of) AS mean_score,
           (array_agg(100 * h.score / nullif(h.max_points, 0) ORDER BY h.submitted_at DESC)
               FILTER (WHERE h.submitted_at < t.as_of AND h.score IS NOT NULL))[1] AS last_score,
           count(*) FILTER (WHERE h.submitted_at < t.as_of AND a.due_at >= t.as_of) AS handed_in_ahead,
           avg(extract(epoch FROM a.due_at - h.submitted_at) / 86400) FILTER (WHERE h.submitted_at < t.as_of)
               AS days_early
      FROM target t
      JOIN assessment a ON a.course_id = t.course_id
      LEFT JOIN handed_in h ON h.item_id = a.item_id AND h.student_id = t.user_id
     WHERE a.due_at < t.as_of OR h.submitted_at < t.as_of
     GROUP BY t.enrollment_id, t.as_of
),
attempts AS (
    SELECT t.enrollment_id, t.as_of, count(*) AS previous_attempts
      FROM target t
      JOIN classroom_enrollment earlier ON earlier.user_id = t.user_id AND earlier.course_id <> t.course_id
                                      AND earlier.role = 'student' AND earlier.enrolled_at < t.as_of
      JOIN classroom_course other ON other.id = earlier.course_id AND other.organization_id = t.organization_id
                                 AND other.subject = t.subject AND other.start_date < t.start_date
     WHERE t.subject <> ''
     GROUP BY t.enrollment_id, t.as_of
)
SELECT t.enrollment_id, t.as_of, t.course_id, t.requested,
       (t.cut_day - t.start_date) AS days_elapsed,
       (t.cut_day - t.start_date)::float / greatest(t.end_date - t.start_date, 1) AS course_share_elapsed,
       extract(epoch FROM ((t.start_date::timestamp AT TIME ZONE t.time_zone) - t.enrolled_at)) / 86400
           AS enrolled_days_before_start,
       coalesce(p.previous_attempts, 0) AS previous_attempts,
       coalesce(a.events_total, 0) AS events_total, coalesce(a.events_7, 0) AS events_7,
       coalesce(a.events_14, 0) AS events_14, coalesce(a.events_28, 0) AS events_28,
       coalesce(a.events_previous_14, 0) AS events_previous_14,
       coalesce(a.active_days_total, 0) AS active_days_total, coalesce(a.active_days_7, 0) AS active_days_7,
       coalesce(a.active_days_14, 0) AS active_days_14, coalesce(a.active_days_28, 0) AS active_days_28,
       t.cut_day - coalesce(a.last_active_day, least(t.start_date, (t.enrolled_at AT TIME ZONE t.time_zone)::date))
           AS days_since_activity,
       (a.last_active_day IS NOT NULL) AS has_activity,
       (t.cut_day - (t.enrolled_at AT TIME ZONE t.time_zone)::date) AS days_enrolled,
       coalesce(i.distinct_items, 0) AS distinct_items,
       coalesce(w.due, 0) AS assessments_due, coalesce(w.on_time, 0) AS assessments_on_time,
       coalesce(w.late, 0) AS assessments_late, coalesce(w.submissions, 0) AS submissions,
       w.mean_score, w.last_score, coalesce(w.handed_in_ahead, 0) AS handed_in_ahead, w.days_early,
       coalesce(a.events_before_start, 0) AS events_before_start, coalesce(a.active_weeks, 0) AS active_weeks
  FROM target t
  LEFT JOIN activity a ON a.enrollment_id = t.enrollment_id AND a.as_of = t.as_of
  LEFT JOIN items i ON i.enrollment_id = t.enrollment_id AND i.as_of = t.as_of
  LEFT JOIN work w ON w.enrollment_id = t.enrollment_id AND w.as_of = t.as_of
  LEFT JOIN attempts p ON p.enrollment_id = t.enrollment_id AND p.as_of = t.as_of
"""


@dataclass
class FeatureTable:
    """One row per requested (enrolment, moment): `values[i, j]` is feature FEATURES[j] of row i (NaN: unknown, e.g.
    no score yet). `class_medians[i, j]` is the median of that feature among row i's class at that moment (the
    reference point of the plain-language factors)."""

    enrollment_ids: np.ndarray
    moments: list[datetime]
    course_ids: np.ndarray
    values: np.ndarray
    class_medians: np.ndarray
    has_activity: np.ndarray
    days_enrolled: np.ndarray

    def column(self, name: str) -> np.ndarray:
        return self.values[:, FEATURES.index(name)]

    def __len__(self) -> int:
        return len(self.enrollment_ids)


def features_as_of(enrollment_ids: Sequence[int], as_of: datetime) -> FeatureTable:
    """The features of these enrolments as of `as_of`, each against its class at that moment."""
    return features_at(list(enrollment_ids), [as_of] * len(enrollment_ids))


def features_at(enrollment_ids: Sequence[int], moments: Sequence[datetime]) -> FeatureTable:
    """The features of each (enrolment, moment) pair, in the order given (training samples one enrolment at several
    moments of its course in one query)."""
    if len(enrollment_ids) != len(moments):
        raise ValueError("One moment per enrolment.")
    with connection.cursor() as cursor:
        cursor.execute(FEATURES_SQL, {"enrollment_ids": list(enrollment_ids), "moments": list(moments)})
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    return _table(names, rows, list(enrollment_ids), list(moments))


def _table(names: list[str], rows: list[tuple], enrollment_ids: list[int], moments: list[datetime]) -> FeatureTable:
    index = {name: position for position, name in enumerate(names)}
    count = len(rows)
    raw = {
        name: np.array([np.nan if row[index[name]] is None else float(row[index[name]]) for row in rows])
        for name in names
        if name not in ("enrollment_id", "as_of", "course_id", "requested", "has_activity")
    }
    raw["activity_trend"] = (raw["events_14"] - raw["events_previous_14"]) / (
        raw["events_14"] + raw["events_previous_14"] + 1
    )
    weeks = np.maximum((raw["days_elapsed"] + np.maximum(raw["enrolled_days_before_start"], 0)) / 7, 1)
    raw["events_per_week"] = raw["events_total"] / weeks
    raw["active_weeks_share"] = raw["active_weeks"] / np.maximum(np.ceil(raw["days_elapsed"] / 7), 1)
    raw["missing_share"] = np.where(
        raw["assessments_due"] > 0,
        (raw["assessments_due"] - raw["assessments_on_time"] - raw["assessments_late"])
        / np.maximum(raw["assessments_due"], 1),
        0.0,
    )
    raw["assessments_missing"] = raw["assessments_due"] - raw["assessments_on_time"] - raw["assessments_late"]

    # Groups: one class at one moment.
    group_keys = [(row[index["course_id"]], row[index["as_of"]]) for row in rows]
    groups: dict[tuple[int, datetime], list[int]] = {}
    for position, key in enumerate(group_keys):
        groups.setdefault(key, []).append(position)
    for relative in [*PERCENTILE_OF.values(), *ZSCORE_OF.values()]:
        raw[relative] = np.full(count, np.nan)
    medians = {name: np.full(count, np.nan) for name in FEATURES}
    for members in groups.values():
        positions = np.array(members)
        for name, relative in PERCENTILE_OF.items():
            raw[relative][positions] = _percentile_rank(raw[name][positions])
        for name, relative in ZSCORE_OF.items():
            values = raw[name][positions]
            known = values[~np.isnan(values)]
            spread = known.std() if len(known) > 1 else 0.0
            raw[relative][positions] = (values - known.mean()) / spread if spread > 0 else 0.0
    values = np.column_stack([raw[name] for name in FEATURES]) if count else np.empty((0, len(FEATURES)))
    for members in groups.values():
        positions = np.array(members)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column with no known value has no median: NaN
            group_medians = np.nanmedian(values[positions], axis=0)
        for column, name in enumerate(FEATURES):
            medians[name][positions] = group_medians[column]
    median_values = np.column_stack([medians[name] for name in FEATURES]) if count else values.copy()

    # Back to the order asked for (a pair may repeat; the class rows that were not asked for are dropped).
    where = {
        (row[index["enrollment_id"]], row[index["as_of"]]): position
        for position, row in enumerate(rows)
        if row[index["requested"]]
    }
    order = np.array(
        [where[(enrollment_id, moment)] for enrollment_id, moment in zip(enrollment_ids, moments, strict=True)],
        dtype=int,
    )
    has_activity = np.array([bool(row[index["has_activity"]]) for row in rows], dtype=bool)
    return FeatureTable(
        enrollment_ids=np.array(enrollment_ids, dtype=np.int64),
        moments=moments,
        course_ids=np.array([rows[position][index["course_id"]] for position in order], dtype=np.int64),
        values=values[order] if len(order) else np.empty((0, len(FEATURES))),
        class_medians=median_values[order] if len(order) else np.empty((0, len(FEATURES))),
        has_activity=has_activity[order] if len(order) else np.empty(0, dtype=bool),
        days_enrolled=raw["days_enrolled"][order] if len(order) else np.empty(0),
    )


def _percentile_rank(values: np.ndarray) -> np.ndarray:
    """Share of the class (0..1) below each value, ties counted half; unknown values stay unknown."""
    known = ~np.isnan(values)
    result = np.full(len(values), np.nan)
    if known.sum() == 0:
        return result
    sorted_known = np.sort(values[known])
    below = np.searchsorted(sorted_known, values[known], side="left")
    not_above = np.searchsorted(sorted_known, values[known], side="right")
    result[known] = (below + not_above) / 2 / max(len(sorted_known), 1)
    return result
