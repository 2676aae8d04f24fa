from django.contrib import admin

from analytics.models import (
    CourseDailyRollup,
    DeadLetterEvent,
    EventKey,
    LearningEvent,
    RequestMetricMinute,
    RollupCheckpoint,
    StudentDailyRollup,
    StudentItemDay,
)
from core.admin import ReadOnlyAdmin


@admin.register(LearningEvent)
class LearningEventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "action", "actor_id", "course_id", "item_id", "source", "event_id"]
    list_filter = ["action", "source"]
    search_fields = ["=event_id", "=session_id", "resource_id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False  # counting a partitioned table of millions of rows is not worth a page load


@admin.register(EventKey)
class EventKeyAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "occurred_at"]
    search_fields = ["=event_id"]
    show_full_result_count = False


@admin.register(DeadLetterEvent)
class DeadLetterEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "reason", "organization", "actor_id", "event_id", "attempts", "replayed_at"]
    list_filter = ["reason", "organization", ("replayed_at", admin.EmptyFieldListFilter)]
    search_fields = ["=event_id", "reason"]
    readonly_fields = [
        "event_id",
        "organization",
        "actor_id",
        "reason",
        "payload",
        "received_at",
        "replayed_at",
        "attempts",
    ]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StudentDailyRollup)
class StudentDailyRollupAdmin(ReadOnlyAdmin):
    list_display = ["day", "student", "course", "events", "active_seconds", "items_viewed", "items_completed", "xp"]
    list_filter = ["course"]
    search_fields = ["student__username"]
    date_hierarchy = "day"
    list_select_related = ["student", "course"]


@admin.register(StudentItemDay)
class StudentItemDayAdmin(ReadOnlyAdmin):
    list_display = ["day", "student", "item", "kind"]
    list_filter = ["kind"]
    search_fields = ["student__username", "item__title"]
    list_select_related = ["student", "item"]


@admin.register(CourseDailyRollup)
class CourseDailyRollupAdmin(ReadOnlyAdmin):
    list_display = ["day", "course", "active_students", "events", "completions", "score_count"]
    list_filter = ["course"]
    search_fields = ["course__code"]
    date_hierarchy = "day"
    list_select_related = ["course"]


@admin.register(RollupCheckpoint)
class RollupCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "started_from", "done_through", "finished", "updated_at"]
    search_fields = ["name"]


@admin.register(RequestMetricMinute)
class RequestMetricMinuteAdmin(ReadOnlyAdmin):
    list_display = ["minute", "method", "route", "count", "errors"]
    list_filter = ["method"]
    search_fields = ["route"]
    date_hierarchy = "minute"
