"""SQL fragments of the event store, for the statements of hot paths (docs/architecture.md): analytics' own
ingestion and rebuild, gamification's XP award. Each is defined once here; the Python side of the same rules is
analytics.models (VIEW_ACTIONS, COMPLETE_ACTIONS), classroom.selectors.course_zone and core.figures."""

from analytics.models import COMPLETE_ACTIONS, SUBMIT_ACTIONS, VIEW_ACTIONS

# The calendar a day is counted in, for a statement that joins the course as `c` (LEFT JOIN: events outside a
# course) and the organisation as `o`: the course's time zone, else the organisation's (the SQL form of
# classroom.selectors.course_zone and accounts.selectors.organization_zone).
LOCAL_ZONE = "COALESCE(c.time_zone, o.time_zone)"


def local_day(moment: str) -> str:
    """The local day of the timestamp expression `moment` in LOCAL_ZONE."""
    return f"({moment} AT TIME ZONE {LOCAL_ZONE})::date"


# The local day of an event; ingestion and the rebuild compute days with the same expression.
LOCAL_DAY = local_day("e.occurred_at")
# A score as a percentage: xAPI's scaled score when given, else raw / max.
SCORE_PERCENT = (
    "CASE WHEN e.score_scaled IS NOT NULL THEN e.score_scaled * 100 "
    "WHEN e.score_raw IS NOT NULL AND e.score_max IS NOT NULL THEN e.score_raw * 100 / e.score_max END"
)
VIEW_LIST = "ARRAY[" + ",".join(f"'{action}'" for action in sorted(VIEW_ACTIONS)) + "]::varchar[]"
SUBMIT_LIST = "ARRAY[" + ",".join(f"'{action}'" for action in sorted(SUBMIT_ACTIONS)) + "]::varchar[]"
COMPLETE_LIST = "ARRAY[" + ",".join(f"'{action}'" for action in sorted(COMPLETE_ACTIONS)) + "]::varchar[]"
