from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
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
from core.admin import CappedCountPaginator, ReadOnlyAdmin
from core.params import MAX_ID


class StudentFilter(admin.SimpleListFilter):
    """One learner's events, by username or id: a text box, since listing every learner as a link would not do."""

    title = "student (username or id)"
    parameter_name = "student"
    template = "admin/input_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isascii() and value.isdigit():
            number = int(value)
            return queryset.filter(actor_id=number) if number <= MAX_ID else queryset.none()
        # The id first: filtering on actor_id lets each partition walk its (actor, time) index newest first,
        # where a join on the username would read every event.
        actor_id = User.objects.filter(username=value).values_list("pk", flat=True).first()
        return queryset.filter(actor_id=actor_id) if actor_id is not None else queryset.none()

    def choices(self, changelist: Any) -> Iterator[Any]:  # one "choice": the text box's state
        kept = [
            (name, value)
            for name, values in changelist.get_filters_params().items()
            if name != self.parameter_name
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value() or "",
            "kept": kept,
            "reset_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


class OccurredFilter(admin.SimpleListFilter):
    """When the events happened, newest first. Without a course or a student (whose indexes find their newest
    events quickly), the list opens on the last 24 hours: the store keeps time order only in a BRIN index, so
    "the newest 100 of everything" means sorting every event of the period asked for."""

    title = "occurred"
    parameter_name = "occurred"
    PERIODS = {
        "1h": ("Last hour", timedelta(hours=1)),
        "24h": ("Last 24 hours", timedelta(days=1)),
        "7d": ("Past 7 days", timedelta(days=7)),
        "30d": ("Past 30 days", timedelta(days=30)),
        "all": ("Any time (slow without a course or student)", None),
    }
    NARROWING = ("course__id__exact", StudentFilter.parameter_name)

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        narrowed = any(request.GET.get(name) for name in self.NARROWING)
        self.default = "all" if narrowed else "24h"
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in self.PERIODS.items()]

    def period(self) -> str:
        value = self.value()
        return value if value in self.PERIODS else self.default

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        span = self.PERIODS[self.period()][1]
        return queryset if span is None else queryset.filter(occurred_at__gte=timezone.now() - span)

    def choices(self, changelist: Any) -> Iterator[Any]:
        for key, (label, _) in self.PERIODS.items():
            yield {
                "selected": self.period() == key,
                "query_string": changelist.get_query_string({self.parameter_name: key}),
                "display": label,
            }


@admin.register(LearningEvent)
class LearningEventAdmin(ReadOnlyAdmin):
    """The event store, newest first, with who, which class and which item by name. Kept fast on millions of rows:
    the list opens on the last day (OccurredFilter), the course and student filters use the (course, time) and
    (actor, time) indexes, the count is capped, the names are fetched for the page's rows only, and there is no
    date hierarchy (its month and day links need a DISTINCT over the period's events)."""

    list_display = ["occurred_at", "action", "student", "course_code", "item_title", "duration_seconds", "source"]
    list_filter = [
        "action",
        ("course", admin.RelatedFieldListFilter),
        StudentFilter,
        OccurredFilter,
        "source",
    ]
    # The names come in three small queries for the page's rows (by primary key), not joined: a join ran before
    # the sort over every event of the period (measured: 0.9 s instead of 0.1 s for 333 000 events in a day).
    list_select_related = False
    search_fields = ["=event_id", "=session_id", "=resource_id"]
    ordering = ["-occurred_at"]
    paginator = CappedCountPaginator
    show_full_result_count = False  # counting a partitioned table of millions of rows is not worth a page load

    def get_queryset(self, request: HttpRequest) -> QuerySet[LearningEvent]:
        return super().get_queryset(request).prefetch_related("actor", "course", "item")

    @admin.display(description="student")
    def student(self, event: LearningEvent) -> str:
        return event.actor.username

    @admin.display(description="course")
    def course_code(self, event: LearningEvent) -> str | None:
        return event.course.code if event.course else None

    @admin.display(description="item")
    def item_title(self, event: LearningEvent) -> str | None:
        return event.item.title if event.item else None


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
