"""Awarding XP from stored learning events, feeding it into the rollups and per-period totals, and awarding
achievements. Everything is set-based SQL over the event store; processing an event twice changes nothing because
the ledger holds one row per event (gamification_xpaward.event_id is unique)."""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction

from accounts.models import User
from analytics.cache import answers_changed
from analytics.services import rollup_xp_add
from analytics.sql import COMPLETE_LIST, LOCAL_ZONE, SCORE_PERCENT, local_day
from core.realtime import broadcast_on_commit
from gamification.levels import level_for
from gamification.models import Achievement

logger = logging.getLogger(__name__)

# One award run at a time: caps per student, item and day read what earlier runs awarded, so two runs at once could
# both grant the last XP under a cap. Runs are short (one batch of events), so serialising them costs little.
AWARD_LOCK = 0x58_50_41_57  # "XPAW"

ORG_DAY = "(e.occurred_at AT TIME ZONE o.time_zone)::date"

# Built only from constants of this module and analytics.sql: no input reaches the SQL text.
AWARD = f"""
WITH candidates AS (
    SELECT e.event_id, e.actor_id, e.organization_id, e.course_id, e.item_id, e.action, e.occurred_at,
           {ORG_DAY} AS day, {LOCAL_ZONE} AS course_time_zone,
           {SCORE_PERCENT} AS score_percent, COALESCE(i.kind, '') AS item_kind
    FROM analytics_learningevent e
    JOIN accounts_organization o ON o.id = e.organization_id
    LEFT JOIN classroom_course c ON c.id = e.course_id
    LEFT JOIN classroom_learningitem i ON i.id = e.item_id
    WHERE e.occurred_at >= %(start)s AND e.occurred_at <= %(end)s
      AND (%(all_actors)s OR e.actor_id = ANY(%(actors)s::bigint[]))
      AND NOT EXISTS (SELECT 1 FROM gamification_xpaward a WHERE a.event_id = e.event_id)
),
matched AS (
    -- the most specific active rule: the organisation's own before the global one, a rule for the item's kind
    -- before one for any kind
    SELECT DISTINCT ON (k.event_id) k.*, r.id AS rule_id, r.points, r.daily_item_cap
    FROM candidates k
    JOIN gamification_xprule r
      ON r.is_active AND r.action = k.action
     AND (r.organization_id = k.organization_id OR r.organization_id IS NULL)
     AND (r.item_kind = '' OR r.item_kind = k.item_kind)
    ORDER BY k.event_id, r.organization_id IS NULL, r.item_kind = ''
),
raw AS (
    SELECT m.*, m.points + COALESCE((
        SELECT b.points FROM gamification_scorebonus b
        WHERE b.rule_id = m.rule_id AND m.score_percent >= b.min_percent
        ORDER BY b.min_percent DESC LIMIT 1
    ), 0) AS raw_amount
    FROM matched m
),
capped AS (
    -- under a cap, events of one student, item, day and rule take what is left in time order
    SELECT r.*, CASE
        WHEN r.daily_item_cap IS NULL OR r.item_id IS NULL THEN r.raw_amount
        ELSE GREATEST(0, LEAST(r.raw_amount, r.daily_item_cap - COALESCE(p.prior, 0)
             - (sum(r.raw_amount) OVER same_cap - r.raw_amount)))
        END AS amount
    FROM raw r
    LEFT JOIN LATERAL (
        SELECT sum(a.amount) AS prior FROM gamification_xpaward a
        WHERE a.student_id = r.actor_id AND a.day = r.day AND a.item_id = r.item_id AND a.rule_id = r.rule_id
    ) p ON r.daily_item_cap IS NOT NULL AND r.item_id IS NOT NULL
    WINDOW same_cap AS (
        PARTITION BY r.actor_id, r.item_id, r.day, r.rule_id ORDER BY r.occurred_at, r.event_id
        ROWS UNBOUNDED PRECEDING
    )
),
awarded AS (
    INSERT INTO gamification_xpaward (
        event_id, student_id, organization_id, course_id, item_id, rule_id, amount, occurred_at, day, awarded_at)
    SELECT event_id, actor_id, organization_id, course_id, item_id, rule_id, amount, occurred_at, day, %(now)s
    FROM capped ORDER BY event_id
    ON CONFLICT (event_id) DO NOTHING
    RETURNING rule_id, student_id, organization_id, course_id, amount, occurred_at, day
),
positive AS (
    SELECT a.*, {local_day("a.occurred_at")} AS course_day
    FROM awarded a
    JOIN accounts_organization o ON o.id = a.organization_id
    LEFT JOIN classroom_course c ON c.id = a.course_id
    WHERE a.amount > 0
),
day_xp AS (
    -- XP per student, course and local day of the course, for analytics' daily rollups (added by analytics'
    -- rollup_xp_add: the rollups are analytics' table)
    SELECT student_id, json_agg(json_build_array(course_id, course_day, xp)) AS days FROM (
        SELECT student_id, course_id, course_day, sum(amount)::int AS xp FROM positive GROUP BY 1, 2, 3
    ) per_day GROUP BY student_id
),
totals AS (
    -- per course and for the whole organisation (course empty), per day, ISO week, month and all time
    INSERT INTO gamification_xptotal AS t (organization_id, course_id, student_id, period, period_start, xp)
    SELECT p.organization_id, scope.course_id, p.student_id, span.period, span.period_start, sum(p.amount)
    FROM positive p
    CROSS JOIN LATERAL (VALUES (p.course_id, false), (NULL::bigint, true)) AS scope (course_id, whole)
    CROSS JOIN LATERAL (VALUES
        ('day', p.day),
        ('week', date_trunc('week', p.day)::date),
        ('month', date_trunc('month', p.day)::date),
        ('all', DATE '1970-01-01')
    ) AS span (period, period_start)
    WHERE scope.whole OR scope.course_id IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 4, 5, 3
    ON CONFLICT ON CONSTRAINT gamification_total_unique DO UPDATE SET xp = t.xp + EXCLUDED.xp
    RETURNING t.student_id, t.course_id, t.period, t.xp
),
per_student AS (
    -- one pass whatever the planner guesses (a join of the two guessed at 1 row each became a nested loop)
    SELECT student_id, sum(added)::int AS added, max(total) AS total, bool_or(completed) AS completed FROM (
        SELECT a.student_id, a.amount AS added, NULL::int AS total, r.action = ANY({COMPLETE_LIST}) AS completed
        FROM awarded a JOIN gamification_xprule r ON r.id = a.rule_id  -- a handful of rules: never a slow join
        UNION ALL
        SELECT student_id, 0, xp, false FROM totals WHERE course_id IS NULL AND period = 'all'
    ) both_sides GROUP BY student_id
)
SELECT p.student_id, p.added, COALESCE(p.total, 0), p.completed, (SELECT count(*) FROM awarded), d.days
FROM per_student p LEFT JOIN day_xp d USING (student_id)
"""

ALL_TIME = date(1970, 1, 1)


def student_group(student_id: int) -> str:
    """The channel-layer group of one student's live messages."""
    return f"student.{student_id}"


@dataclass
class AwardOutcome:
    events: int = 0  # events that matched a rule (including those a cap reduced to 0 XP)
    xp: int = 0
    level_ups: list[tuple[int, int]] = field(default_factory=list)  # (student id, new level)
    achievements: list[tuple[int, str]] = field(default_factory=list)  # (student id, achievement code)


def xp_award(*, start: datetime, end: datetime, now: datetime, actor_ids: Iterable[int] | None = None) -> AwardOutcome:
    """Award XP for the stored events that occurred between start and end (inclusive) — only those of `actor_ids`
    when given — that have no ledger row yet; then award the achievements their students now meet. Level-ups and
    achievements are published after commit."""
    actors = sorted(set(actor_ids)) if actor_ids is not None else []
    outcome = AwardOutcome()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AWARD_LOCK])
        cursor.execute(
            AWARD,
            {"start": start, "end": end, "now": now, "actors": actors, "all_actors": actor_ids is None},
        )
        rows = cursor.fetchall()
        # Achievements can change only for students who gained XP; those that depend on completions, only for
        # students who completed something in this run.
        students: dict[int, bool] = {}
        day_xp: list[tuple[int, int | None, str, int]] = []
        for student_id, added, total, completed, events, days in rows:
            day_xp += [(student_id, course_id, day, xp) for course_id, day, xp in days or ()]
            outcome.events = events
            outcome.xp += added
            if added > 0:
                students[student_id] = completed
            before, after = level_for(total - added), level_for(total)
            if after > before:
                outcome.level_ups.append((student_id, after))
                broadcast_on_commit(
                    group=student_group(student_id),
                    message={"type": "level.up", "student": student_id, "level": after, "xp": total},
                )
        rollup_xp_add(day_xp)
        if students:
            outcome.achievements = achievements_award(students=students, now=now)
            organizations = set(
                User.objects.filter(pk__in=students).values_list("organization_id", flat=True).distinct()
            )
            transaction.on_commit(partial(answers_changed, organizations - {None}))
    return outcome


def xp_award_backfill(
    *, start: datetime, end: datetime, now: datetime, progress: Callable[[date, AwardOutcome], None] | None = None
) -> AwardOutcome:
    """xp_award over [start, end) one UTC day at a time (bounded statements), for imports and rule changes.

    The ledger grows fast during a backfill, and the planner, still believing it small, would scan it once per
    event for the daily caps. So the ledger and totals are re-ANALYZEd whenever they have grown by half since the
    last time (autovacuum would, later)."""
    total = AwardOutcome()
    analyzed_at = 0
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        outcome = xp_award(start=day, end=following - timedelta(microseconds=1), now=now)
        total.events += outcome.events
        total.xp += outcome.xp
        total.level_ups += outcome.level_ups
        total.achievements += outcome.achievements
        if total.events > 1000 and total.events > 1.5 * analyzed_at:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE gamification_xpaward, gamification_xptotal, gamification_studentachievement")
            analyzed_at = total.events
        if progress is not None:
            progress(day.date(), outcome)
        day = following
    return total


# --- Achievements ----------------------------------------------------------------------------------------------------

# For each kind, the students (of %(students)s) who meet an achievement of that kind, as (student, achievement).
# %(students)s and the achievement's organisation scope are applied by the caller's wrapper.
QUALIFIERS = {
    Achievement.Kind.XP_TOTAL: """
        SELECT a.student_id, a.id FROM candidates a
        WHERE a.kind = 'xp_total' AND EXISTS (
            SELECT 1 FROM gamification_xptotal t
            WHERE t.organization_id = a.student_org AND t.course_id IS NULL AND t.period = 'all'
              AND t.period_start = DATE '1970-01-01' AND t.student_id = a.student_id AND t.xp >= a.threshold)
    """,
    Achievement.Kind.LEVEL_REACHED: """
        SELECT a.student_id, a.id FROM candidates a
        WHERE a.kind = 'level_reached' AND EXISTS (
            SELECT 1 FROM gamification_xptotal t
            WHERE t.organization_id = a.student_org AND t.course_id IS NULL AND t.period = 'all'
              AND t.period_start = DATE '1970-01-01' AND t.student_id = a.student_id AND t.xp >= a.level_xp)
    """,
    Achievement.Kind.FIRST_COMPLETION: f"""
        SELECT a.student_id, a.id FROM candidates a
        WHERE a.kind = 'first_completion' AND a.completed_now AND EXISTS (
            SELECT 1 FROM analytics_learningevent e WHERE e.actor_id = a.student_id AND e.action = ANY({COMPLETE_LIST}))
    """,
    Achievement.Kind.PERFECT_QUIZ: f"""
        SELECT a.student_id, a.id FROM candidates a
        WHERE a.kind = 'perfect_quiz' AND a.completed_now AND EXISTS (
            SELECT 1 FROM analytics_learningevent e
            WHERE e.actor_id = a.student_id AND e.action = 'quiz_submit' AND {SCORE_PERCENT} >= 100)
    """,
    Achievement.Kind.MODULE_COMPLETE: f"""
        SELECT a.student_id, a.id FROM candidates a
        WHERE a.kind = 'module_complete' AND a.completed_now AND EXISTS (
            SELECT 1
            FROM (SELECT DISTINCT e.item_id FROM analytics_learningevent e
                  WHERE e.actor_id = a.student_id AND e.item_id IS NOT NULL AND e.action = ANY({COMPLETE_LIST})) done
            JOIN classroom_learningitem i ON i.id = done.item_id
            GROUP BY i.module_id
            HAVING count(*) = (SELECT count(*) FROM classroom_learningitem all_items
                               WHERE all_items.module_id = i.module_id)
        )
    """,
    Achievement.Kind.STREAK_DAYS: """
        SELECT s.student_id, a.id FROM candidates a
        JOIN longest_streaks s ON s.student_id = a.student_id
        WHERE a.kind = 'streak_days' AND s.longest >= a.threshold
    """,
}

LONGEST_STREAKS = """
longest_streaks AS (
    SELECT student_id, max(length) AS longest FROM (
        SELECT student_id, count(*) AS length FROM (
            SELECT student_id, day, day - (row_number() OVER (PARTITION BY student_id ORDER BY day))::int AS island
            FROM (SELECT student_id, day FROM gamification_xpaward
                  WHERE student_id = ANY(%(students)s) GROUP BY 1, 2 HAVING sum(amount) >= %(min_xp)s) active
        ) days GROUP BY student_id, island
    ) islands GROUP BY student_id
)
"""


def achievements_award(*, students: dict[int, bool], now: datetime) -> list[tuple[int, str]]:
    """Award every active achievement that these students now meet and have not earned yet; return (student, code)
    of the new ones, each published after commit. `students` maps each student to whether completion-based
    achievements need checking (they completed something since the last check)."""
    if not students:
        return []
    ids = sorted(students)
    candidates = """
    candidates AS (
        SELECT a.id, a.code, a.kind, a.threshold, s.id AS student_id, s.completed_now,
               u.organization_id AS student_org, %(base)s * a.threshold * (a.threshold - 1) / 2 AS level_xp
        FROM unnest(%(students)s::bigint[], %(completed)s::boolean[]) AS s (id, completed_now)
        JOIN accounts_user u ON u.id = s.id
        JOIN gamification_achievement a
          ON a.is_active AND (a.organization_id IS NULL OR a.organization_id = u.organization_id)
        WHERE NOT EXISTS (SELECT 1 FROM gamification_studentachievement e
                          WHERE e.achievement_id = a.id AND e.student_id = s.id)
    )
    """
    qualified = " UNION ".join(f"({sql})" for sql in QUALIFIERS.values())
    statement = f"""
    WITH {candidates}, {LONGEST_STREAKS},
    qualified AS ({qualified}),
    earned AS (
        INSERT INTO gamification_studentachievement (student_id, achievement_id, earned_at)
        SELECT student_id, id, %(now)s FROM qualified ORDER BY 1, 2
        ON CONFLICT ON CONSTRAINT gamification_earned_once DO NOTHING
        RETURNING student_id, achievement_id
    )
    SELECT earned.student_id, a.code, a.name FROM earned JOIN gamification_achievement a ON a.id = earned.achievement_id
    ORDER BY 1, 2
    """
    with connection.cursor() as cursor:
        cursor.execute(
            statement,
            {
                "students": ids,
                "completed": [students[student] for student in ids],
                "now": now,
                "base": int(settings.GAMIFICATION_LEVEL_BASE_XP),
                "min_xp": int(settings.GAMIFICATION_STREAK_MIN_DAILY_XP),
            },
        )
        earned = cursor.fetchall()
    for student_id, code, name in earned:
        broadcast_on_commit(
            group=student_group(student_id),
            message={"type": "achievement.earned", "student": student_id, "code": code, "name": name},
        )
    return [(student_id, code) for student_id, code, _ in earned]
