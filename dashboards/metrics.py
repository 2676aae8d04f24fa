"""The micro, meso and macro dashboards as catalogue metrics (their pages, dashboards.views, answer through the
same metrics)."""

from typing import Any

from accounts.permissions import is_administrator, is_platform_operator
from analytics import selectors as analytics
from analytics.metrics import ITEM_HELP, MODULE_HELP, class_work_filter
from core.daterange import DateRange
from core.metrics import Audience, Metric, Scope, Subject, register
from core.params import ChoiceParam, CountParam, IdParam, PeriodParam, QuerySerializer
from dashboards import selectors
from dashboards.selectors import Macro, Meso, Micro

PERIOD_HELP = "1d to 365d: the local days ending today (default 30d)."


class MicroQuery(QuerySerializer):
    student = IdParam(help_text="Staff: a student they may see. Students: themselves (the default).")
    period = PeriodParam(default="30d", days=365, help_text=PERIOD_HELP)


class MesoQuery(QuerySerializer):
    """The class dashboard's filters: the period, one module or one assignment, and a student status."""

    course = IdParam(help_text="Required: a class the requester may see.")
    period = PeriodParam(default="30d", days=365, help_text=PERIOD_HELP)
    module = IdParam(help_text=MODULE_HELP)
    item = IdParam(help_text=ITEM_HELP)
    status = ChoiceParam(
        analytics.STUDENT_STATUSES,
        help_text="Only the students who are: active (an event in the period); inactive (no activity on the last "
        "`inactive_days` days); or with at least one item (of those counted) missing, late, on_time or excused.",
    )
    inactive_days = CountParam(
        default=7, maximum=365, help_text="For status=inactive: days without activity, ending today (default 7)."
    )


class MacroQuery(QuerySerializer):
    period = PeriodParam(default="30d", days=365, help_text=PERIOD_HELP)


def period_of(scope: Scope, query: dict[str, Any]) -> DateRange:
    return DateRange.last_days(query["period"].days, now=scope.now, zone=scope.zone)


def micro(scope: Scope, query: dict[str, Any]) -> Micro:
    return selectors.micro(
        student=scope.student,
        courses=scope.courses,
        period=period_of(scope, query),
        viewer=scope.viewer,
        course_ids=scope.student_course_ids,
    )


def meso(scope: Scope, query: dict[str, Any]) -> Meso:
    return selectors.meso(
        course=scope.course,
        period=period_of(scope, query),
        viewer=scope.viewer,
        **class_work_filter(scope.course, query),
        status=query.get("status"),
        inactive_days=query["inactive_days"],
    )


def macro(scope: Scope, query: dict[str, Any]) -> Macro:
    viewer = scope.viewer
    return selectors.macro(
        courses=scope.courses,
        period=period_of(scope, query),
        include_system=is_administrator(viewer),
        organization_id=None if is_platform_operator(viewer) else (viewer.organization_id or 0),
    )


def _register() -> None:
    for metric in (
        Metric(
            name="analytics-dashboard-micro",
            path="analytics/dashboards/micro",
            summary="One student's dashboard",
            description="One student over the period (their school's calendar): progress per class with "
            "the class average and percentile (hidden from students below the peer minimum), activity, heatmap, "
            "XP, level, streak, achievements, recent activity (with its class), the work due soon and overdue with "
            "grades and class averages, and each class's leaderboard. A teacher sees only what happened in the "
            "classes they teach (every figure; no achievements), as on every endpoint about the student.",
            output=Micro,
            query=MicroQuery,
            subject=Subject.STUDENT,
            audience=Audience.EVERYONE,
            owner="dashboards",
            rows="courses",
            small_group_setting="ANALYTICS_PEER_MIN_STUDENTS",
            compute=micro,
        ),
        Metric(
            name="analytics-dashboard-meso",
            path="analytics/dashboards/meso",
            summary="One class's dashboard",
            description="One class over the period (the class's calendar): course analytics, progress "
            "distribution, completion rate, engagement score, the assignments per item with who handed them in, "
            "the students table (with their on-time / late / missing counts and score average), the most and "
            "least viewed items and the week's leaderboard. `module` and `item` narrow the assignments (timeliness, "
            "per-item rows, the students' counts); `status` narrows the students table. For its teachers and the "
            "school's administrators.",
            output=Meso,
            query=MesoQuery,
            subject=Subject.COURSE,
            audience=Audience.STAFF,
            owner="dashboards",
            rows="students",
            compute=meso,
        ),
        Metric(
            name="analytics-dashboard-macro",
            path="analytics/dashboards/macro",
            summary="The school's (or a teacher's classes') dashboard",
            description="All the requester's classes (the whole school for administrators) over the period: "
            "headline figures with the enrolments' progress, engagement trend, cross-course comparison, the "
            "latest completions, and for administrators the last 24 hours' system metrics (of their school; every "
            "school's for platform operators).",
            output=Macro,
            query=MacroQuery,
            subject=Subject.COURSES,
            audience=Audience.STAFF,
            owner="dashboards",
            rows="courses",
            compute=macro,
        ),
    ):
        register(metric)


register_metrics = _register
