"""Metric selectors, by topic: one per chart or figure, reading the rollups for a DateRange (core.daterange) with
zero-filled buckets, and returning typed answers (TypedDicts). The catalogue's metrics (analytics.metrics), the
pages and the reports call these; who may ask about which course or student is settled before (by
classroom.selectors.metric_scope), so these take already-checked ids.

- engagement: the daily trend, engagement metrics per timeframe, the live minutes;
- school: a set of classes: overview, summary, top students, recent completions, content trends, comparison;
- classes: one class: course analytics, assignment timeliness, scores, the students table and its status filter;
- assignments: one class's graded work per item and per student, and what its filters may name;
- students: one student: learning activity, heatmap, user analytics, class and peer comparison, recent activity;
- coursework: one student's graded work: due soon, overdue, grades with the class average;
- progress: completed items, progress per class and module, learning paths, class progress;
- enrolments: the progress and regularity of a set of enrolments (a reference and a fast implementation);
- system: requests, errors, latency and active learners;
- activity: per day, class and student of a set of classes, a page at a time or streamed whole (reports).
"""

from analytics.selectors.activity import activity_daily_page, activity_days_stream
from analytics.selectors.assignments import class_assignments, filter_choices
from analytics.selectors.classes import (
    STUDENT_STATUSES,
    assignment_timeliness,
    class_engagement_score,
    class_item_views,
    class_students,
    course_analytics,
    score_distribution,
    students_with_status,
)
from analytics.selectors.coursework import student_coursework
from analytics.selectors.engagement import (
    ENGAGEMENT_TIMEFRAMES,
    engagement_metrics,
    engagement_trend,
    engagement_trend_answer,
    growth_percent,
    realtime,
)
from analytics.selectors.enrolments import enrolment_figures, enrolment_figures_fast
from analytics.selectors.progress import (
    PROGRESS_BANDS,
    SCORE_BANDS,
    average_progress,
    class_completions,
    class_progress,
    completed_item_ids,
    completion_rate,
    course_progress,
    learning_progress,
    progress_distribution,
    progress_of,
    progress_tracking,
)
from analytics.selectors.school import (
    content_trends,
    content_trends_with_progress,
    course_comparison,
    overview,
    recent_completions,
    school_overview,
    summary,
    summary_and_top_performers,
    summary_with_progress,
    top_performers,
)
from analytics.selectors.students import (
    class_comparison,
    learning_activity,
    learning_heatmap,
    peer_comparison,
    recent_activity,
    user_analytics,
)
from analytics.selectors.system import system_metrics

__all__ = [
    "ENGAGEMENT_TIMEFRAMES",
    "PROGRESS_BANDS",
    "SCORE_BANDS",
    "STUDENT_STATUSES",
    "activity_daily_page",
    "activity_days_stream",
    "assignment_timeliness",
    "average_progress",
    "class_assignments",
    "class_comparison",
    "class_completions",
    "class_engagement_score",
    "class_item_views",
    "class_progress",
    "class_students",
    "completed_item_ids",
    "completion_rate",
    "content_trends",
    "content_trends_with_progress",
    "course_analytics",
    "course_comparison",
    "course_progress",
    "engagement_metrics",
    "engagement_trend",
    "engagement_trend_answer",
    "enrolment_figures",
    "enrolment_figures_fast",
    "filter_choices",
    "growth_percent",
    "learning_activity",
    "learning_heatmap",
    "learning_progress",
    "overview",
    "peer_comparison",
    "progress_distribution",
    "progress_of",
    "progress_tracking",
    "realtime",
    "recent_activity",
    "recent_completions",
    "school_overview",
    "score_distribution",
    "student_coursework",
    "students_with_status",
    "summary",
    "summary_and_top_performers",
    "summary_with_progress",
    "system_metrics",
    "top_performers",
    "user_analytics",
]
