"""Gamification reads. Who may see which student or course is decided by classroom.selectors (a student or course
outside the requester's scope is 404, like one that does not exist); the actor is always request.user."""

from typing import Any, cast
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from analytics.cache import cached_read
from analytics.daterange import DateRange
from analytics.selectors import course_progress, learning_activity
from classroom.api.scoping import scoped_get_or_404, student_courses, student_in_scope
from classroom.models import Course
from classroom.selectors import visible_courses
from gamification import selectors
from gamification.api.serializers import LeaderboardQuery, ProgressQuery, StudentProgressQuery, WeeklyXpQuery
from gamification.levels import level_progress
from gamification.models import StudentAchievement


def _query(serializer_class: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return cast(dict[str, Any], serializer.validated_data)


@extend_schema(tags=["gamification"], parameters=[ProgressQuery], responses=OpenApiTypes.OBJECT)
class ProgressView(APIView):
    """XP, level and progress to the next level, streak, achievements (earned with their time, the others with
    progress) and XP per day over the last `days` days."""

    def get(self, request: Request) -> Response:
        query = _query(ProgressQuery, request)
        student = student_in_scope(request.user, query.get("student"))
        return Response(
            cached_read(request, lambda: selectors.progress(student, days=query["days"], now=timezone.now()))
        )


@extend_schema(tags=["gamification"], parameters=[WeeklyXpQuery], responses=OpenApiTypes.OBJECT)
class WeeklyXpView(APIView):
    """XP of the last 7 days (organisation's calendar) with the day of the week, the week's total, the daily
    average and the current streak."""

    def get(self, request: Request) -> Response:
        query = _query(WeeklyXpQuery, request)
        student = student_in_scope(request.user, query.get("student"))
        return Response(cached_read(request, lambda: selectors.weekly_xp(student, now=timezone.now())))


@extend_schema(tags=["gamification"], parameters=[LeaderboardQuery], responses=OpenApiTypes.OBJECT)
class LeaderboardView(APIView):
    """Top students by XP of a course (or the organisation) over the current day, week, month or all time. Students
    see public handles and their own rank, percentile and XP needed to pass the next rank; teachers see the names of
    students in their classes; fewer than the configured minimum of students hides it from students."""

    def get(self, request: Request) -> Response:
        query = _query(LeaderboardQuery, request)
        user = cast(User, request.user)
        course: Course | None = None
        if "course" in query:
            course = cast(
                Course, scoped_get_or_404(visible_courses(user).select_related("organization"), query["course"])
            )
            organization = course.organization
        elif user.organization is None:
            raise ValidationError({"course": ["Required for an account outside any organisation."]})
        else:
            organization = user.organization
        return Response(
            cached_read(
                request,
                lambda: selectors.leaderboard(
                    viewer=user,
                    organization=organization,
                    course=course,
                    timeframe=query["timeframe"],
                    limit=query["limit"],
                    now=timezone.now(),
                ),
            )
        )


@extend_schema(tags=["analytics"], parameters=[ProgressQuery], responses=OpenApiTypes.OBJECT)
class LearningOverviewView(APIView):
    """A student's last `days` days: sessions and their length, materials viewed and completed, XP earned, and now:
    level, streak and achievements earned."""

    def get(self, request: Request) -> Response:
        query = _query(ProgressQuery, request)
        student = student_in_scope(request.user, query.get("student"))
        now = timezone.now()
        zone = ZoneInfo(student.organization.time_zone if student.organization else "UTC")
        period = DateRange.last_days(query["days"], now=now, zone=zone)

        def answer() -> dict[str, Any]:
            today = selectors.local_today(student.organization, now)
            level = level_progress(selectors.total_xp(student))
            streak = selectors.streak(student, today)
            earned = StudentAchievement.objects.filter(student=student)
            return {
                "student": student.pk,
                "as_of": now,
                "days": query["days"],
                **learning_activity(student_id=student.pk, period=period),
                "xp_total": level.xp,
                "level": level.level,
                "current_streak": streak.current,
                "longest_streak": streak.longest,
                "achievements_earned": earned.count(),
                "achievements_earned_in_period": earned.filter(earned_at__gte=period.start()).count(),
            }

        return Response(cached_read(request, answer))


@extend_schema(tags=["analytics"], parameters=[StudentProgressQuery], responses=OpenApiTypes.OBJECT)
class StudentProgressView(APIView):
    """Overall progress (items completed out of all in the student's classes, or one class), lessons completed out
    of all, XP and the all-time rank in the school (or the class)."""

    def get(self, request: Request) -> Response:
        query = _query(StudentProgressQuery, request)
        student = student_in_scope(request.user, query.get("student"))
        courses = student_courses(cast(User, request.user), student, query.get("course"))

        def answer() -> dict[str, Any]:
            per_course = course_progress(student_id=student.pk, courses=courses)
            items = sum(row["items_total"] for row in per_course)
            done = sum(row["items_completed"] for row in per_course)
            course = courses.first() if "course" in query else None
            return {
                "student": student.pk,
                "as_of": timezone.now(),
                "course": course.pk if course else None,
                "overall_progress_percent": round(100 * done / items, 1) if items else None,
                "items_completed": done,
                "items_total": items,
                "lessons_completed": sum(row["lessons_completed"] for row in per_course),
                "lessons_total": sum(row["lessons_total"] for row in per_course),
                "xp": selectors.total_xp(student),
                "rank": selectors.all_time_standing(student, course),
            }

        return Response(cached_read(request, answer))


@extend_schema(tags=["analytics"], parameters=[StudentProgressQuery], responses=OpenApiTypes.OBJECT)
class SubjectMasteryView(APIView):
    """Per class (subject) of the student: progress, items and lessons completed, topics (modules) completed."""

    def get(self, request: Request) -> Response:
        query = _query(StudentProgressQuery, request)
        student = student_in_scope(request.user, query.get("student"))
        courses = student_courses(cast(User, request.user), student, query.get("course"))
        return Response(
            cached_read(
                request,
                lambda: {
                    "student": student.pk,
                    "as_of": timezone.now(),
                    "subjects": course_progress(student_id=student.pk, courses=courses),
                },
            )
        )
