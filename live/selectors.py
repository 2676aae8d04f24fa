"""What the live stream sends: the figures of two catalogue metrics (live.metrics), each read here in ONE prepared
statement because it runs for every event of a watched scope. This module is declared a hot path
(docs/architecture.md): its statements read the rollups and totals of analytics and gamification directly, and
tests/test_metric_parity.py holds each equal to the metric's reference, composed from those apps' selectors.
Called by the consumers' process, never by ingestion.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from accounts.models import Role, User
from analytics.selectors import average_progress
from analytics.sql import local_day
from classroom.models import Course, Enrollment
from core.db import prepared_cursor
from core.figures import engagement_rate, percent
from gamification import selectors as gamification
from gamification.levels import level_progress

# Learner actions announced per change notification at most (a batch import is not replayed action by action).
USER_EVENTS_MAX = 50


# The student snapshot in ONE statement (it runs for every event of a watched student, up to hundreds a second):
# the same rows the ORM selectors read for the page (gamification.selectors total_xp and streak, analytics'
# completed item-days, the daily rollups), through the same indexes. The streak's "today" is the organisation's
# calendar day (gamification's); a class's events today are those of its own day (its time zone, as its rollups).
# XP and the streak count all of the student's learning (`whole`: the student, their school's administrators) or the
# XP earned in `courses` only (a teacher's view), as gamification.selectors does with course_ids.
STUDENT_SNAPSHOT = f"""
WITH student AS (
    SELECT u.id, u.organization_id,
           (%(now)s::timestamptz AT TIME ZONE COALESCE(o.time_zone, 'UTC'))::date AS today
    FROM accounts_user u LEFT JOIN accounts_organization o ON o.id = u.organization_id
    WHERE u.id = %(student)s
)
SELECT
    s.today,
    (SELECT COALESCE(json_object_agg(course_id, n), '{{}}') FROM (
        SELECT m.course_id, count(*) AS n
        FROM classroom_learningitem i JOIN classroom_module m ON m.id = i.module_id
        WHERE m.course_id = ANY(%(courses)s) GROUP BY m.course_id) items),
    (SELECT COALESCE(json_object_agg(course_id, n), '{{}}') FROM (
        SELECT course_id, count(DISTINCT item_id) AS n
        FROM analytics_studentitemday
        WHERE student_id = s.id AND course_id = ANY(%(courses)s) AND kind = 'completed' GROUP BY course_id) done),
    (SELECT COALESCE(sum(r.events), 0)
     FROM analytics_studentdailyrollup r
     JOIN classroom_course c ON c.id = r.course_id JOIN accounts_organization o ON o.id = c.organization_id
     WHERE r.student_id = s.id AND r.course_id = ANY(%(courses)s)
       AND r.day = {local_day("%(now)s::timestamptz")}),
    CASE WHEN %(whole)s
        THEN (SELECT COALESCE(max(xp), 0) FROM gamification_xptotal
              WHERE student_id = s.id AND organization_id = s.organization_id AND course_id IS NULL AND period = 'all')
        ELSE (SELECT COALESCE(sum(xp), 0) FROM gamification_xptotal
              WHERE student_id = s.id AND organization_id = s.organization_id AND course_id = ANY(%(courses)s)
                AND period = 'all')
    END,
    (SELECT COALESCE(array_agg(day ORDER BY day), '{{}}') FROM (
        SELECT day FROM gamification_xpaward
        WHERE student_id = s.id AND day <= s.today AND (%(whole)s OR course_id = ANY(%(courses)s))
        GROUP BY day HAVING sum(amount) >= %(min_xp)s) streak_days)
FROM student s
"""


def student_progress_snapshot(
    *, student_id: int, course_ids: Sequence[int], now: datetime, whole_student: bool = True
) -> dict[str, Any]:
    """A student's headline figures: XP, level, streak, and progress and today's events over `course_ids` (the
    student's classes the viewer may see; XP and streak over all the student's learning with `whole_student`, else
    earned in those classes); the same numbers as dashboards.selectors.micro, which the page re-reads. Raises
    User.DoesNotExist for an unknown student."""
    minimum = int(settings.GAMIFICATION_STREAK_MIN_DAILY_XP)
    with prepared_cursor() as cursor:
        cursor.execute(
            STUDENT_SNAPSHOT,
            {
                "now": now,
                "student": student_id,
                "courses": list(course_ids),
                "min_xp": minimum,
                "whole": whole_student,
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise User.DoesNotExist(student_id)
    today, items_json, completed_json, events_today, xp, streak_days = row
    items = {int(course): count for course, count in items_json.items()}
    completed = {int(course): count for course, count in completed_json.items()}
    level = level_progress(xp)
    streak = gamification.streak_of_days(streak_days, today, minimum)
    total = sum(items.values())
    done = sum(completed.get(course_id, 0) for course_id in items)
    return {
        **gamification.level_and_streak(level, streak),
        "overall_progress_percent": percent(done, total),
        "items_completed": done,
        "items_total": total,
        "courses": [
            {
                "course": course_id,
                "items_completed": completed.get(course_id, 0),
                "items_total": count,
                "progress_percent": percent(completed.get(course_id, 0), count),
            }
            for course_id, count in sorted(items.items())
        ],
        "events_today": int(events_today),
    }


# The class snapshot in ONE statement (it runs up to four times a second per watched class): the figures of
# analytics.selectors.overview for today in the class's time zone and dashboards.selectors.class_progress, from the
# same rows (enrolments, the daily rollups, completed item-days of the enrolled students).
CLASS_SNAPSHOT = f"""
WITH course AS (
    SELECT c.id,
           {local_day("%(now)s::timestamptz")} AS today
    FROM classroom_course c JOIN accounts_organization o ON o.id = c.organization_id
    WHERE c.id = %(course)s
),
enrolled AS (
    SELECT DISTINCT user_id FROM classroom_enrollment
    WHERE course_id = %(course)s AND role = 'student' AND status = 'active'
)
SELECT
    (SELECT count(*) FROM enrolled),
    (SELECT count(DISTINCT r.student_id) FROM analytics_studentdailyrollup r
     WHERE r.course_id = c.id AND r.day = c.today),
    (SELECT COALESCE(sum(r.events), 0) FROM analytics_coursedailyrollup r WHERE r.course_id = c.id AND r.day = c.today),
    (SELECT count(*) FROM classroom_learningitem i JOIN classroom_module m ON m.id = i.module_id
     WHERE m.course_id = c.id),
    (SELECT COALESCE(array_agg(n), '{{}}') FROM (
        SELECT count(DISTINCT d.item_id) AS n
        FROM analytics_studentitemday d JOIN enrolled e ON e.user_id = d.student_id
        WHERE d.course_id = c.id AND d.kind = 'completed' GROUP BY d.student_id) done)
FROM course c
"""


def class_engagement_snapshot(*, course_id: int, now: datetime) -> dict[str, Any]:
    """A class's figures for today (its time zone): active students, events, engagement rate, average progress.
    Raises Course.DoesNotExist for an unknown class."""
    with prepared_cursor() as cursor:
        cursor.execute(CLASS_SNAPSHOT, {"now": now, "course": course_id})
        row = cursor.fetchone()
    if row is None:
        raise Course.DoesNotExist(course_id)
    students_total, active, events, items, completed = row
    # each enrolled student's (items completed, items): those without a completion have none
    completions = [(done, items) for done in completed] + [(0, items)] * (students_total - len(completed))
    return {
        "students_total": students_total,
        "active_students_today": active,
        "events_today": int(events),
        "engagement_rate_today": engagement_rate(active, students_total),
        "average_progress_percent": average_progress(completions),
    }


def course_student_ids(*, course_id: int) -> list[int]:
    """Students whose events change a class's figures (any enrolment status: history stays in the class)."""
    return list(
        Enrollment.objects.filter(course_id=course_id, role=Enrollment.Role.STUDENT, user__role=Role.STUDENT)
        .values_list("user_id", flat=True)
        .distinct()
    )


# The learner actions of one notification, on a prepared statement (it runs for every event of a watched class, in
# every process that watches it): through the (actor_id, occurred_at) index, at most USER_EVENTS_MAX.
COURSE_USER_EVENTS = """
SELECT e.event_id, e.actor_id, e.action, e.item_id, e.occurred_at, u.first_name, u.last_name, u.username
FROM analytics_learningevent e JOIN accounts_user u ON u.id = e.actor_id
WHERE e.actor_id = ANY(%(students)s) AND e.course_id = %(course)s AND e.occurred_at >= %(first)s
  AND e.occurred_at <= %(last)s AND e.received_at >= %(since)s
ORDER BY e.occurred_at, e.id
LIMIT %(limit)s
"""


def course_user_events(
    *, course_id: int, student_ids: Sequence[int], first: datetime, last: datetime, received_since: datetime
) -> list[dict[str, Any]]:
    """The learner actions a change notification announced: the events of those students in this class that
    occurred first..last and arrived recently."""
    with prepared_cursor() as cursor:
        cursor.execute(
            COURSE_USER_EVENTS,
            {
                "students": list(student_ids),
                "course": course_id,
                "first": first,
                "last": last,
                "since": received_since,
                "limit": USER_EVENTS_MAX,
            },
        )
        rows = cursor.fetchall()
    return [
        {
            "event_id": str(event_id),
            "student": actor_id,
            "name": f"{first_name} {last_name}".strip() or username,
            "action": action,
            "item": item_id,
            "occurred_at": occurred_at,
        }
        for event_id, actor_id, action, item_id, occurred_at, first_name, last_name, username in rows
    ]


def received_window(at: datetime) -> datetime:
    """How far back a notification's events may have arrived (the request's clock ran before its commit)."""
    return at - timedelta(seconds=30)
