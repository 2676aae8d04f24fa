"""The recommendation parts of the pages (issue 16): a student page's "Next steps" (recommendations/_next_steps.html,
next_steps.js) and "Learning paths and goals" (recommendations/_paths_goals.html). The next steps are the very rows
GET /api/v1/recommendations/ answers (same scope, order and fields, `recommendation_out`), so the page's first list
and the lists next_steps.js re-renders from the API after a dismiss or a live message look alike."""

from datetime import datetime
from typing import Any

from django.conf import settings

from accounts.models import User
from accounts.permissions import is_staff_role
from classroom.selectors import courses_in_common, sees_whole_student
from recommendations import services
from recommendations.api.views import MAX_LIMIT, recommendation_out
from recommendations.goals import paths_goals_panel
from recommendations.models import Recommendation
from recommendations.selectors import best_first, recommendations_for

# The page lists this many next steps: a short list is read, a long one skimmed. The student's other active ones
# wait their turn, so a dismissed step is replaced from them (or from the refresh the dismiss starts).
SHOWN = 5
HISTORY_SHOWN = 30  # "Recommended before", newest first: about three refreshes' worth


VERDICTS = {"helpful": "Helpful", "not_helpful": "Not helpful", "irrelevant": "Irrelevant"}
COMMENT_SHOWN = 80  # characters of a comment in the history table


def feedback_text(feedback: dict[str, Any] | None) -> str:
    """A student's feedback in a few words ("4/5 · Helpful · “…”"), as next_steps.js writes it too."""
    if not feedback:
        return ""
    parts = []
    if feedback.get("rating") is not None:
        parts.append(f"{feedback['rating']}/5")
    if feedback.get("feedback"):
        parts.append(VERDICTS.get(feedback["feedback"], feedback["feedback"]))
    elif feedback.get("helpful") is not None:
        parts.append("Helpful" if feedback["helpful"] else "Not helpful")
    comments = (feedback.get("comments") or "").strip()
    if comments:
        shown = comments if len(comments) <= COMMENT_SHOWN else comments[: COMMENT_SHOWN - 1] + "…"
        parts.append(f"“{shown}”")
    return " · ".join(parts)


def _row(recommendation: Recommendation, codes: dict[int, str]) -> dict[str, Any]:
    """The API's fields, with the class's code and the feedback in words."""
    row: dict[str, Any] = dict(recommendation_out(recommendation))
    row["course_code"] = codes.get(recommendation.course_id or 0, "")
    row["feedback_text"] = feedback_text(row["feedback"])
    return row


def next_steps(*, viewer: User, student: User, courses: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The "Next steps" part for `viewer` (the caller has checked that they may see `student`): the student's own,
    with feedback buttons; for staff read-only, limited to the classes they teach (like the API's `scoped`), with
    what was recommended before and what the student did with it. `courses`: the page's classes (their codes)."""
    own = viewer.pk == student.pk
    every_class = sees_whole_student(viewer, student)
    course_ids = None if every_class else courses_in_common(viewer, student).values("pk")
    found = best_first(recommendations_for(student_id=student.pk, limit=MAX_LIMIT * 4, course_ids=course_ids))
    shown = found[:SHOWN]
    if own:
        # the page is where a student sees them: the implicit "shown" outcome, as the API's own read records it
        services.recommendation_shown(recommendations=shown, now=now)
    codes = {row["course"]: row["code"] for row in courses}
    history = None
    if not own and is_staff_role(viewer):
        earlier = recommendations_for(
            student_id=student.pk, limit=HISTORY_SHOWN, include_history=True, course_ids=course_ids
        )
        history = [_row(r, codes) for r in earlier]
    return {
        "next_steps": {
            "student": student.pk,
            "own": own,
            "every_class": every_class,
            "limit": SHOWN,
            "dismiss_days": settings.RECOMMENDATIONS_DISMISS_DAYS,
            "recommendations": [_row(r, codes) for r in shown],
            "history": history,
            "course_codes": {str(course): code for course, code in codes.items()},
        }
    }


def paths_goals(*, viewer: User, student: User, now: datetime) -> dict[str, Any]:
    """The "Learning paths and goals" part (recommendations/_paths_goals.html reads `paths_goals`)."""
    return {"paths_goals": paths_goals_panel(viewer=viewer, student=student, now=now)}
