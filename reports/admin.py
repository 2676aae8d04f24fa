"""Reports for platform operators (docs/decisions/0003): definitions with their versions, runs, downloads, schedules
and deliveries. Read-only where the record is history (versions, runs, downloads, deliveries); a definition's name
and visibility may be changed here, its content only through the builder (a new version each time), and a run is
queued with the action "Run now as CSV"."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from reports.models import ReportDefinition, ReportDelivery, ReportDownload, ReportRun, ReportSchedule, ReportVersion
from reports.services import run_request


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(admin.TabularInline):
    model = ReportVersion
    extra = 0
    can_delete = False
    fields = ("number", "dataset", "columns", "parameters", "row_filters", "grouping", "sort", "chart", "created_by")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Run now as CSV (with the owner's access)")
def run_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ReportDefinition]) -> None:
    for definition in queryset.select_related("owner"):
        run = run_request(definition, fmt="csv", run_for=definition.owner, requested_by=request.user)
        modeladmin.message_user(request, f"{definition.name}: run {run.pk} queued (GET /api/v1/jobs/{run.job_id}).")


@admin.register(ReportDefinition)
class ReportDefinitionAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "owner", "visibility", "current_version", "updated_at"]
    list_filter = ["visibility", "organization"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["organization", "owner"]
    fields = ["name", "description", "visibility", "organization", "owner", "current_version"]
    readonly_fields = ["organization", "owner", "current_version"]
    inlines = [VersionInline]
    actions = [run_now]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # reports are built in the builder (a dataset, columns, parameters checked for the owner)


@admin.register(ReportRun)
class ReportRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "definition", "format", "run_for", "row_count", "size_bytes", "created_at", "expires_at"]
    list_filter = ["format", "definition__organization"]
    list_select_related = ["definition", "run_for"]
    raw_id_fields = ["definition", "version", "job", "run_for", "requested_by", "schedule"]
    date_hierarchy = "created_at"


@admin.register(ReportDownload)
class ReportDownloadAdmin(ReadOnlyAdmin):
    list_display = ["run", "user", "via", "downloaded_at"]
    list_select_related = ["run", "user"]
    raw_id_fields = ["run", "user"]
    date_hierarchy = "downloaded_at"


class DeliveryInline(admin.TabularInline):
    model = ReportDelivery
    extra = 0
    can_delete = False
    fields = ("recipient", "status", "attempts", "error", "attached", "sent_at", "run")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReportSchedule)
class ReportScheduleAdmin(ReadOnlyAdmin):
    """Schedules are kept in step with their beat entries by reports.schedules: change them in the app or the API."""

    list_display = ["definition", "recurrence", "time", "timezone", "format", "run_as", "enabled", "last_status"]
    list_filter = ["recurrence", "enabled", "format"]
    list_select_related = ["definition"]
    raw_id_fields = ["definition", "owner", "periodic_task"]
    inlines = [DeliveryInline]
