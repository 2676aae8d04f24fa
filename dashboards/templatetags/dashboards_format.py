"""How the pages write actions and durations: one place, so every table and figure reads the same.

`{% load dashboards_format %}` then `{{ row.action|action_label }}` and `{{ minutes|duration }}`."""

from django import template

from analytics.models import Action

register = template.Library()

# What a person reads for each tracked action (the API keeps the codes). A new Action without a label shows its
# code with spaces, and tests/dashboards/test_formatting.py fails until it gets one here.
ACTION_LABELS: dict[str, str] = {
    Action.SESSION_START: "Started a session",
    Action.SESSION_END: "Ended a session",
    Action.PAGE_VIEW: "Viewed a page",
    Action.MATERIAL_VIEW: "Opened material",
    Action.MATERIAL_COMPLETE: "Completed material",
    Action.LESSON_START: "Started a lesson",
    Action.LESSON_COMPLETE: "Completed a lesson",
    Action.MODULE_COMPLETE: "Completed a module",
    Action.COURSE_START: "Started the class",
    Action.COURSE_COMPLETE: "Completed the class",
    Action.VIDEO_PLAY: "Played a video",
    Action.VIDEO_PAUSE: "Paused a video",
    Action.VIDEO_COMPLETE: "Watched a video to the end",
    Action.QUIZ_ATTEMPT: "Started a quiz",
    Action.QUIZ_SUBMIT: "Submitted a quiz",
    Action.ASSIGNMENT_SUBMIT: "Handed in an assignment",
    Action.SEARCH_QUERY: "Searched",
    Action.AI_MESSAGE_SENT: "Asked the AI tutor",
    Action.AI_MESSAGE_RECEIVED: "Got an AI tutor answer",
    Action.AI_FEEDBACK_RATED: "Rated AI feedback",
    Action.WORK_RETURNED: "Got work back",
    Action.WORK_GRADED: "Got a grade",
}


@register.filter
def action_label(action: str | None) -> str:
    """The human label of an action code (`session_end` → "Ended a session")."""
    if not action:
        return "—"
    return ACTION_LABELS.get(action) or action.replace("_", " ").capitalize()


@register.filter
def duration(minutes: float | int | None) -> str:
    """Minutes as a person reads them: whole minutes under an hour ("45 min"), h:mm from an hour on ("2:05 h");
    "—" when unknown. Rounded to the nearest minute (half up), so 59.6 minutes reads "1:00 h"."""
    if minutes is None or minutes == "":
        return "—"
    whole = int(float(minutes) + 0.5)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    return f"{hours}:{rest:02d} h"
