"""The metrics analytics owns, registered in the catalogue (core.metrics) when the app is ready: their query
parameters (the one request parser, core.params), what they are about and for whom, and how each is computed from
the selectors. Served by analytics.api.catalogue; the pages answer through analytics.catalogue."""

from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypedDict, cast

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from analytics import selectors
from analytics.selectors.activity import CURSOR_MESSAGE, ActivityCursor, ActivityDaily
from analytics.selectors.assignments import AssignmentRow
from analytics.selectors.classes import AssignmentTimeliness, CourseAnalytics
from analytics.selectors.coursework import Coursework
from analytics.selectors.engagement import EngagementMetrics, EngagementTrend, Realtime
from analytics.selectors.enrolments import EnrolmentFigures
from analytics.selectors.progress import CourseProgress, LearningProgress, ProgressTracking
from analytics.selectors.school import (
    Completion,
    ContentTrendsWithProgress,
    SchoolOverview,
    SummaryWithProgress,
    TopPerformer,
)
from analytics.selectors.students import LearningHeatmap, UserAnalytics
from analytics.selectors.system import SystemMetrics
from classroom.models import Course, Enrollment, LearningItem
from classroom.selectors import scoped_get_or_404, visible_students
from core.daterange import MAX_DAYS, DateRange
from core.metrics import Audience, Cache, Compute, Metric, Scope, Subject, register
from core.params import (
    ChoiceParam,
    CountParam,
    DateParam,
    IdParam,
    JsonObjectParam,
    Param,
    PeriodParam,
    QuerySerializer,
)

COURSE_HELP = "Only this class (one the requester may see)."
STUDENT_HELP = "Staff: a student they may see. Students: themselves (the default)."


def days_param(default: int = 30, maximum: int = 365) -> PeriodParam:
    return PeriodParam(
        default=f"{default}d",
        days=maximum,
        help_text=f"1d to {maximum}d: the local days ending today (default {default}d).",
    )


class StaffDaysQuery(QuerySerializer):
    period = days_param()
    course = IdParam(help_text=COURSE_HELP)


class EngagementTrendQuery(StaffDaysQuery):
    interval = ChoiceParam(
        ["day", "week"],
        help_text="day (the default): a row per local day; week: a row per week (Monday to Sunday, dated by its "
        "Monday; the first and last may be partial, counting only the period's days).",
    )


def engagement_trend(scope: Scope, query: dict[str, Any]) -> EngagementTrend:
    """Per day, or per week; the totals, peak and growth are the daily series' either way."""
    period = period_of(scope, query)
    answer = selectors.engagement_trend_answer(course_ids=scope.course_ids, period=period)
    if query.get("interval") == "week":
        weeks = DateRange(period.first, period.last, period.zone, period.now, "week")
        answer["daily"] = selectors.engagement_trend(course_ids=scope.course_ids, period=weeks)
    return answer


class CourseDaysQuery(QuerySerializer):
    period = days_param()


MODULE_HELP = "Only the assignments and quizzes of this module of the class."
ITEM_HELP = "Only this assignment or quiz of the class (counted whenever it was due, if already due)."


class ClassWorkQuery(QuerySerializer):
    """One class's figures, narrowed to one module's or one item's graded work (an id of another class: 400)."""

    period = days_param()
    module = IdParam(help_text=MODULE_HELP)
    item = IdParam(help_text=ITEM_HELP)


class WorkFilter(TypedDict):
    module: int | None
    item: int | None


def class_work_filter(course: Course, query: dict[str, Any]) -> WorkFilter:
    """The validated `module` and `item` of a class's query: each must belong to `course` (an item must be an
    assignment or a quiz, and of the module named, if any); otherwise a 400 naming the parameter. A module or item
    of a class the requester cannot see gets the same answer as one that does not exist."""
    module, item = query.get("module"), query.get("item")
    if module is not None and not course.modules.filter(pk=module).exists():
        raise serializers.ValidationError({"module": ["Not a module of this class."]})
    if item is not None:
        items = LearningItem.objects.filter(
            pk=item, module__course=course, kind__in=[LearningItem.Kind.ASSIGNMENT, LearningItem.Kind.QUIZ]
        )
        if not items.exists():
            raise serializers.ValidationError({"item": ["Not an assignment or quiz of this class."]})
        if module is not None and not items.filter(module_id=module).exists():
            raise serializers.ValidationError({"item": ["Not an item of the module named."]})
    return {"module": module, "item": item}


class CourseOnlyQuery(QuerySerializer):
    course = IdParam(help_text=COURSE_HELP)


class HeatmapQuery(QuerySerializer):
    period = days_param(default=90, maximum=MAX_DAYS)
    student = IdParam(help_text=STUDENT_HELP)


class StudentCoursesQuery(QuerySerializer):
    student = IdParam(help_text=STUDENT_HELP)
    course = IdParam(help_text="Only this class of the student's.")


class SystemQuery(QuerySerializer):
    period = PeriodParam(default="24h", hours=720, help_text="1h to 720h: the hours ending now (1d is 24h).")


class EngagementMetricsQuery(QuerySerializer):
    period = PeriodParam(
        choices=list(selectors.ENGAGEMENT_TIMEFRAMES),
        default="1d",
        help_text="1h or 6h: the hours ending now (event store); 1d, 7d, 30d or 90d: the local days ending today "
        "(rollups).",
    )
    course = IdParam(help_text=COURSE_HELP)


class DashboardQuery(QuerySerializer):
    period = PeriodParam(
        default="7d",
        days=365,
        help_text="1d to 365d: the local days ending today (default 7d; seed 001's "
        "time_range=day|week|month|year and seed 004's timeframe=1d|7d|30d|90d|1y are read as 1d, 7d, 30d, 365d).",
    )
    course = IdParam(help_text=COURSE_HELP)
    filters = JsonObjectParam({"course": IdParam()}, help_text='A JSON object: {"course": id} or {}.')

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        named = attrs.pop("filters", {}).get("course")
        if named is not None:
            if attrs.get("course") is not None and attrs["course"] != named:
                raise serializers.ValidationError({"filters": ["course: also given as the course parameter."]})
            attrs["course"] = named
        return attrs


class SummaryQuery(QuerySerializer):
    start_date = DateParam(help_text="First day (default: 29 days before end_date).")
    end_date = DateParam(help_text="Last day (default: today).")
    course = IdParam(help_text=COURSE_HELP)


def period_of(scope: Scope, query: dict[str, Any]) -> DateRange:
    """The local days of the query's `period` (core.params.PeriodParam) that end today, in the scope's zone."""
    return DateRange.last_days(query["period"].days, now=scope.now, zone=scope.zone)


def over_last_days(selector: Callable[..., Any], **options: Any) -> Compute:
    """A metric's computation: `selector` over the scope's classes for the last days of the query's period."""
    return lambda scope, query: selector(course_ids=scope.course_ids, period=period_of(scope, query), **options)


def with_names(viewer: Any, rows: list[Any]) -> list[Any]:
    """Add name and public handle to rows naming a student (all within the viewer's scope already)."""
    people = {
        person.pk: person
        for person in visible_students(viewer)
        .filter(pk__in={row["student"] for row in rows})
        .only("first_name", "last_name", "username", "public_handle")
    }
    for row in rows:
        person = people.get(row["student"])
        row["name"] = person.display_name if person else None
        row["handle"] = person.public_handle if person else None
    return rows


class Dashboard(SummaryWithProgress):
    """Over the last day, week, month or year of the requester's classes."""

    time_range: Annotated[str, "The period asked for (e.g. 7d)."]
    top_performers: list[TopPerformer]
    recent_completions: list[Completion]


def dashboard(scope: Scope, query: dict[str, Any]) -> Dashboard:
    period = period_of(scope, query)
    totals, top = selectors.summary_and_top_performers(course_ids=scope.course_ids, period=period)
    figures = selectors.enrolment_figures_fast(course_ids=scope.course_ids, period=period)
    recent = selectors.recent_completions(course_ids=scope.course_ids, now=period.now)
    return {
        "time_range": query["period"].token,
        **totals,
        "average_progress_percent": figures["average_progress_percent"],
        "completion_rate": figures["completion_rate"],
        "engagement_score": figures["engagement_score"],
        "top_performers": with_names(scope.viewer, top),
        "recent_completions": with_names(scope.viewer, recent),
    }


def dates_of(scope: Scope, query: dict[str, Any], *, max_days: int = MAX_DAYS) -> DateRange:
    """The local days from the query's `start_date` to `end_date` (default: the 30 days ending today, in the scope's
    zone); a range backwards or longer than `max_days` is a 400 on start_date."""
    end: date = query.get("end_date") or scope.now.astimezone(scope.zone).date()
    start: date = query.get("start_date") or end - timedelta(days=29)
    if start > end:
        raise serializers.ValidationError({"start_date": ["Must not be after end_date."]})
    if (end - start).days + 1 > max_days:
        raise serializers.ValidationError({"start_date": [f"At most {max_days} days from start_date to end_date."]})
    return DateRange(start, end, scope.zone, scope.now)


def summary(scope: Scope, query: dict[str, Any]) -> SummaryWithProgress:
    return selectors.summary_with_progress(course_ids=scope.course_ids, period=dates_of(scope, query))


class CursorParam(Param):
    """Where the previous page ended: its `next`, passed back unchanged."""

    default_error_messages = {"invalid": CURSOR_MESSAGE}

    def to_internal_value(self, data: Any) -> ActivityCursor:
        cursor = ActivityCursor.parse(data)
        if cursor is None:
            self.fail("invalid")
        return cursor


class CursorParamSchema(OpenApiSerializerFieldExtension):
    """In the API schema, a cursor is an opaque string (core.schema documents core.params' fields alike)."""

    target_class = CursorParam

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string"}


# Three school years: the rows are paged (and streamed to reports), so a long range costs a client nothing up front.
ACTIVITY_MAX_DAYS = 1096


class ActivityDailyQuery(QuerySerializer):
    start_date = DateParam(
        help_text=f"First day (default: 29 days before end_date; at most {ACTIVITY_MAX_DAYS} days before it)."
    )
    end_date = DateParam(help_text="Last day (default: today).")
    course = IdParam(help_text=COURSE_HELP)
    student = IdParam(help_text="Only this student (one the requester may see).")
    limit = CountParam(default=1000, maximum=10000, unit="rows", help_text="Rows per page, 1 to 10000 (default 1000).")
    after = CursorParam(help_text="The `next` of the previous page (default: the first page).")


def activity_filter(scope: Scope, query: dict[str, Any]) -> dict[str, Any]:
    """The classes, days and student of an activity-daily question. A student the viewer may not see is a 404, as
    if they did not exist."""
    student_id = query.get("student")
    if student_id is not None:
        student_id = scoped_get_or_404(visible_students(scope.viewer), student_id).pk
    period = dates_of(scope, query, max_days=ACTIVITY_MAX_DAYS)
    return {"course_ids": scope.course_ids, "period": period, "student_id": student_id}


def activity_daily(scope: Scope, query: dict[str, Any]) -> ActivityDaily:
    return selectors.activity_daily_page(
        **activity_filter(scope, query), limit=query["limit"], after=query.get("after")
    )


def activity_daily_stream(scope: Scope, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # the checks (404, 400) run now, before the caller starts reading; `limit` and `after` are the API's pages. The
    # rows are ActivityDay dicts (a TypedDict is no dict[str, Any] to mypy, hence the cast)
    return cast(Iterator[dict[str, Any]], selectors.activity_days_stream(**activity_filter(scope, query)))


def system_metrics(scope: Scope, query: dict[str, Any]) -> SystemMetrics:
    organization_id = None if scope.every_organization else (scope.organization.pk if scope.organization else 0)
    return selectors.system_metrics(hours=query["period"].hours, now=scope.now, organization_id=organization_id)


class StudentName(TypedDict):
    student: int
    name: str


class CourseAssignments(TypedDict):
    """One class's assignments and quizzes already due: per item, who handed in on time, late, who is missing and
    who is excused."""

    course: int
    first_day: date
    last_day: date
    as_of: datetime
    module: Annotated[int | None, "The module asked for, if any."]
    item: Annotated[int | None, "The item asked for, if any."]
    totals: AssignmentTimeliness
    items: list[AssignmentRow]
    students: Annotated[list[StudentName], "The actively enrolled students (whom the who-lists name), by name."]


def course_analytics(scope: Scope, query: dict[str, Any]) -> CourseAnalytics:
    return selectors.course_analytics(
        course=scope.course, period=period_of(scope, query), **class_work_filter(scope.course, query)
    )


def course_assignments(scope: Scope, query: dict[str, Any]) -> CourseAssignments:
    course = scope.course
    narrowed = class_work_filter(course, query)
    period = period_of(scope, query)
    assignments = selectors.class_assignments(course=course, period=period, **narrowed)
    students: list[StudentName] = [
        {"student": student_id, "name": f"{first} {last}".strip() or username}
        for student_id, first, last, username in Enrollment.objects.active_students()
        .filter(course=course)
        .order_by("user__last_name", "user__first_name", "user__username")
        .values_list("user_id", "user__first_name", "user__last_name", "user__username")
    ]
    return {
        "course": course.pk,
        "first_day": period.first,
        "last_day": period.last,
        "as_of": period.now,
        **narrowed,
        "totals": assignments.totals,  # type: ignore[typeddict-item]
        "items": assignments.items,
        "students": students,
    }


class SubjectMastery(TypedDict):
    """Per class (subject) of a student: progress, items, lessons and topics completed."""

    student: int
    as_of: datetime
    subjects: list[CourseProgress]


def _register() -> None:
    staff: dict[str, Any] = {"subject": Subject.COURSES, "audience": Audience.STAFF, "owner": "analytics"}
    student: dict[str, Any] = {"subject": Subject.STUDENT, "audience": Audience.EVERYONE, "owner": "analytics"}
    for metric in (
        Metric(
            name="analytics-trends-engagement",
            path="analytics/trends/engagement",
            summary="Daily (or weekly) engagement of the requester's classes",
            description="Active students, events and active minutes per day (or, with interval=week, per week) over "
            "the requester's classes (teachers) or school (administrators), with the growth between the first and "
            "the last 7 days.",
            output=EngagementTrend,
            query=EngagementTrendQuery,
            rows="daily",
            compute=engagement_trend,
            **staff,
        ),
        Metric(
            name="analytics-realtime",
            path="analytics/realtime",
            summary="The last minutes of the requester's classes",
            description="Learners active in the last 5 minutes, the 10 latest events and today's count, over the "
            "requester's classes.",
            output=Realtime,
            query=CourseOnlyQuery,
            rows="recent_activities",
            cache=Cache.NONE,
            compute=lambda scope, query: selectors.realtime(
                course_ids=scope.course_ids, now=scope.now, zone=scope.zone
            ),
            **staff,
        ),
        Metric(
            name="analytics-overview",
            path="analytics/overview",
            summary="Headline figures of the requester's classes",
            description="Students (total, active), classes (total, active), events, average score, engagement and "
            "attendance rates, assignment statistics, and the enrolments' average progress, completion rate and "
            "engagement score, over the requester's classes for the last `days` days.",
            output=SchoolOverview,
            query=StaffDaysQuery,
            compute=over_last_days(selectors.school_overview),
            **staff,
        ),
        Metric(
            name="analytics-dashboard",
            path="analytics/dashboard",
            summary="Dashboard of the requester's classes",
            description="Active learners, activities, completions, average score, average progress, completion rate "
            "and engagement score over the period (default the last 7 days), with the top performers "
            "by XP and the latest completions, over the requester's classes.",
            output=Dashboard,
            query=DashboardQuery,
            rows="top_performers",
            compute=dashboard,
            **staff,
        ),
        Metric(
            name="analytics-summary",
            path="analytics/summary",
            summary="Totals between two dates",
            description="Totals between two dates (at most 366 days): active learners, events, XP, completions, "
            "attempts, scores; and the enrolments' average progress and completion rate (now) and engagement score "
            "(over the dates).",
            output=SummaryWithProgress,
            query=SummaryQuery,
            compute=summary,
            **staff,
        ),
        Metric(
            name="analytics-activity-daily",
            path="analytics/activity/daily",
            summary="Daily activity per student and class",
            description="Per local day (the class's calendar), class and student of the requester's classes (or the "
            "one `course`, the one `student`) between two dates (at most 1096 days, three school years; default the "
            "last 30 days): events, active minutes, items viewed and completed, attempts, average score and XP. By "
            "day, class and student, `limit` rows a page: pass a page's `next` as `after` for the following one. "
            "Reports read every row (the metric's stream, page after page).",
            output=ActivityDaily,
            query=ActivityDailyQuery,
            rows="rows",
            compute=activity_daily,
            stream=activity_daily_stream,
            **staff,
        ),
        Metric(
            name="analytics-trends-content",
            path="analytics/trends/content",
            summary="What the requester's classes consume",
            description="The most viewed items, completions, completion rate and average progress per class, and "
            "items viewed and completed per day, over the requester's classes for the last `days` days.",
            output=ContentTrendsWithProgress,
            query=StaffDaysQuery,
            rows="daily",
            compute=over_last_days(selectors.content_trends_with_progress),
            fast=over_last_days(selectors.content_trends_with_progress, fast=True),
            **staff,
        ),
        Metric(
            name="analytics-enrolment-figures",
            path="analytics/progress",
            summary="Progress and regularity of the requester's classes",
            description="Per class and overall: actively enrolled students, their average progress, the completion "
            "rate (every item completed) and the engagement score (0-10: the mean share of the period's days with "
            "activity in the class).",
            output=EnrolmentFigures,
            query=StaffDaysQuery,
            rows="courses",
            compute=over_last_days(selectors.enrolment_figures),
            fast=over_last_days(selectors.enrolment_figures_fast),
            **staff,
        ),
        Metric(
            name="analytics-system-metrics",
            path="analytics/system-metrics",
            summary="Requests, errors, latency and active learners",
            description="Requests of the last `hours` hours from the request-metrics rollup: count, server and client "
            "error rates, errors by status, p50/p95/p99 latency, top endpoints; and learners active meanwhile. An "
            "administrator sees their school's; platform operators every school's.",
            output=SystemMetrics,
            query=SystemQuery,
            subject=Subject.ORGANIZATION,
            audience=Audience.ADMINISTRATORS,
            owner="analytics",
            rows="top_endpoints",
            cache=Cache.NONE,
            compute=system_metrics,
        ),
        Metric(
            name="analytics-engagement-metrics",
            path="analytics/engagement-metrics",
            summary="Engagement metrics per period",
            description="Active users, events, page views (item views), interactions (item completions), interaction "
            "rate (per 100 page views), sessions and their average length, and the same per class, over the "
            "requester's classes (teachers) or school (administrators) in the period. Definitions: "
            "analytics.selectors.engagement.engagement_metrics.",
            output=EngagementMetrics,
            query=EngagementMetricsQuery,
            rows="course_engagement",
            compute=lambda scope, query: selectors.engagement_metrics(
                course_ids=scope.course_ids, timeframe=query["period"].token, now=scope.now, zone=scope.zone
            ),
            **staff,
        ),
        Metric(
            name="analytics-course-analytics",
            path="analytics/courses/<int:course>/analytics",
            summary="One class over a period",
            description="One class over the last `days` days: enrolment and engagement, events, completions, XP, "
            "average score, the daily engagement trend, assignment timeliness (on time / late / missing / excused; "
            "of one `module` or one `item` when named; work due before a student enrolled is not missing for them) "
            "and the score distribution.",
            output=CourseAnalytics,
            query=ClassWorkQuery,
            subject=Subject.COURSE,
            audience=Audience.STAFF,
            owner="analytics",
            rows="engagement",
            compute=course_analytics,
        ),
        Metric(
            name="analytics-course-assignments",
            path="analytics/courses/<int:course>/assignments",
            summary="One class's assignments and who handed them in",
            description="Per assignment and quiz of the class due in the last `days` days (and already due), or of "
            "one `module`, or the one `item` named (whenever it was due): the due time, on time / late / missing / "
            "excused counts, the average score, and exactly who is in each state. Work due before a student "
            "enrolled is not missing for them. For the class's teachers and the school's administrators.",
            output=CourseAssignments,
            query=ClassWorkQuery,
            subject=Subject.COURSE,
            audience=Audience.STAFF,
            owner="analytics",
            rows="items",
            compute=course_assignments,
        ),
        Metric(
            name="analytics-learning-heatmap",
            path="analytics/learning/heatmap",
            summary="A student's activity per day",
            description="One student's activity per day: events, active minutes and XP (zero-filled); for a teacher, "
            "only in the classes they teach.",
            output=LearningHeatmap,
            query=HeatmapQuery,
            rows="heatmap",
            compute=lambda scope, query: {
                "student": scope.student.pk,
                "as_of": scope.now,
                "days": query["period"].days,
                "heatmap": selectors.learning_heatmap(
                    student_id=scope.student.pk,
                    period=period_of(scope, query),
                    course_ids=scope.student_course_ids,
                ),
            },
            **student,
        ),
        Metric(
            name="analytics-progress-tracking",
            path="analytics/progress-tracking",
            summary="A student's learning paths",
            description="A student's learning paths (their courses): total, completed (every item), in progress, not "
            "started, the completion rate, the average progress and the latest completed items.",
            output=ProgressTracking,
            query=StudentCoursesQuery,
            rows="paths",
            compute=lambda scope, query: {
                "student": scope.student.pk,
                "course": query.get("course"),
                **selectors.progress_tracking(student_id=scope.student.pk, courses=scope.courses, now=scope.now),
            },
            **student,
        ),
        Metric(
            name="analytics-learning-progress",
            path="analytics/learning-progress",
            summary="A student's progress per class and module",
            description="Per course of a student (or the one named): items, lessons and modules completed, progress "
            "per module, events, active minutes, last day with activity and average score.",
            output=LearningProgress,
            query=StudentCoursesQuery,
            rows="courses",
            compute=lambda scope, query: {
                "student": scope.student.pk,
                "course": query.get("course"),
                "as_of": scope.now,
                "courses": selectors.learning_progress(student_id=scope.student.pk, courses=scope.courses),
            },
            **student,
        ),
        Metric(
            name="analytics-subject-mastery",
            path="analytics/subject-mastery",
            summary="A student's classes as subjects",
            description="Per class (subject) of the student: progress, items and lessons completed, topics (modules) "
            "completed.",
            output=SubjectMastery,
            query=StudentCoursesQuery,
            rows="subjects",
            compute=lambda scope, query: {
                "student": scope.student.pk,
                "as_of": scope.now,
                "subjects": selectors.course_progress(student_id=scope.student.pk, courses=scope.courses),
            },
            **student,
        ),
        Metric(
            name="analytics-user-analytics",
            path="analytics/users/<int:student>/analytics",
            summary="One student over a period",
            description="One student over the last `days` days: sessions, events, active minutes, items viewed and "
            "completed, average score, XP and a daily trend (all of the student's learning for the student and "
            "their school's administrators; only the classes they teach for a teacher, as on the micro dashboard), "
            "and per class the requester shares with them the same with a class comparison. Students see only "
            "themselves, and class figures only when at least ANALYTICS_PEER_MIN_STUDENTS students contribute.",
            output=UserAnalytics,
            query=CourseDaysQuery,
            rows="daily",
            small_group_setting="ANALYTICS_PEER_MIN_STUDENTS",
            compute=lambda scope, query: selectors.user_analytics(
                student_id=scope.student.pk,
                courses=scope.courses,
                period=period_of(scope, query),
                peer_minimum=scope.small_group_minimum,
                activity_course_ids=scope.student_course_ids,
            ),
            **student,
        ),
        Metric(
            name="analytics-student-coursework",
            path="analytics/coursework",
            summary="A student's work: due soon, overdue, grades",
            description="A student's assignments and quizzes in their active classes (for a teacher: the classes "
            "they teach): what is due in the next 7 days, what is overdue (due, not handed in, not excused, and due "
            "after the student enrolled), and per item their state and score with the class average (students see "
            "the class average only when at least ANALYTICS_PEER_MIN_STUDENTS students have a score).",
            output=Coursework,
            query=StudentCoursesQuery,
            rows="grades",
            small_group_setting="ANALYTICS_PEER_MIN_STUDENTS",
            compute=lambda scope, query: selectors.student_coursework(
                student_id=scope.student.pk,
                courses=scope.courses,
                now=scope.now,
                peer_minimum=scope.small_group_minimum,
            ),
            **student,
        ),
    ):
        register(metric)


register_metrics = _register
