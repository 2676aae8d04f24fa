"""Every periodic job, in one place. django-celery-beat's DatabaseScheduler copies these entries into its tables at
start-up, so operators can pause one in the admin while the code stays the source of truth.

Each entry says why it runs when it does. Later issues add aggregation, prediction, recommendations, Classroom sync,
scheduled reports and retention here.
"""

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Expired sessions pile up in django_session; nightly at 03:10 UTC, when school traffic is lowest everywhere
    # we expect users (Europe and the Americas).
    "core.clear_expired_sessions": {
        "task": "core.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=10),
    },
    # Refresh tokens live seven days; their outstanding/blacklist rows are useless after expiry. Nightly, after the
    # sessions job so the two do not compete.
    "core.flush_expired_tokens": {
        "task": "core.tasks.flush_expired_tokens",
        "schedule": crontab(hour=3, minute=25),
    },
    # Rollups are kept current by ingestion; recomputing the last three days nightly from raw events repairs
    # anything else (manual fixes, bugs). 02:40 UTC: after midnight in Europe, before the housekeeping jobs.
    "analytics.rebuild_recent_rollups": {
        "task": "analytics.tasks.rebuild_recent_rollups",
        "schedule": crontab(hour=2, minute=40),
    },
    # Event partitions for this and the next two months, daily: creating one locks the parent briefly, so it is
    # done here rather than on the ingestion path.
    "analytics.create_upcoming_partitions": {
        "task": "analytics.tasks.create_upcoming_partitions",
        "schedule": crontab(hour=1, minute=5),
    },
    # XP is awarded by a task queued after each ingestion; hourly, any event of the last two days without a ledger
    # row (a task lost with the broker) is awarded. Hourly keeps a lost award from waiting a whole night.
    "gamification.award_recent_xp": {
        "task": "gamification.tasks.award_recent_xp",
        "schedule": crontab(minute=50),
    },
    # Request metrics gather in Redis per minute; every minute the finished ones become rows of the system-metrics
    # rollup (analytics/request_metrics.py), so system metrics lag by two minutes at most.
    # Google Classroom: every active connection syncs hourly (only what changed is written), at :20 so it does not
    # meet the XP sweep at :50; a connection needing reconnection is skipped until the teacher reconnects.
    "google_classroom.sync_all": {
        "task": "google_classroom.tasks.sync_all",
        "schedule": crontab(minute=20),
    },
    # The at-risk model learns from courses that ended; new results arrive a few times a year, so weekly is ample.
    # Sunday 04:00 UTC: after the nightly rollup repair, when no class is running anywhere we expect users.
    "risk.train_all": {
        "task": "risk.tasks.train_all",
        "schedule": crontab(hour=4, minute=0, day_of_week=0),
    },
    # Predictions as of the night, nightly at 04:30 UTC: after the rollups are repaired (02:40) and after Sunday's
    # training, so teachers find fresh risks and alerts in the morning.
    "risk.score_all": {
        "task": "risk.tasks.score_all",
        "schedule": crontab(hour=4, minute=30),
    },
    # Report files are kept REPORTS_FILE_DAYS days; hourly removal keeps the private storage from holding any
    # file much past its expiry (a download after it is refused anyway).
    # (Scheduled reports are not here: each ReportSchedule keeps a django-celery-beat entry of its own in the
    # database, written with it by reports.schedules.)
    "reports.expire_files": {
        "task": "reports.tasks.expire_files",
        "schedule": crontab(minute=15),
    },
    # Goals past their due date are closed (missed), and weekly goals rechecked, for learners who sent no event
    # since; 00:20 UTC, after the UTC day turns.
    "recommendations.goals_close_due": {
        "task": "recommendations.tasks.goals_close_due",
        "schedule": crontab(hour=0, minute=20),
    },
    # Item difficulty derived from classmates' scores and time, nightly before the recommendations use it.
    "recommendations.derive_difficulty": {
        "task": "recommendations.tasks.derive_difficulty",
        "schedule": crontab(hour=3, minute=30),
    },
    # The next-step ranker learns from courses that ended, weekly like the risk model (Sunday 04:15 UTC).
    "recommendations.train_ranker": {
        "task": "recommendations.tasks.train_ranker_all",
        "schedule": crontab(hour=4, minute=15, day_of_week=0),
    },
    # Every student's next steps as of the night, after the risk scoring (04:30) whose predictions they read;
    # events refresh a student's own during the day (coalesced, recommendations.tasks).
    "recommendations.refresh_all": {
        "task": "recommendations.tasks.refresh_all",
        "schedule": crontab(hour=5, minute=0),
    },
    "analytics.flush_request_metrics": {
        "task": "analytics.tasks.flush_request_metrics",
        "schedule": crontab(),  # every minute
    },
}
