from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from core.models import Job


class ReadOnlyAdmin(admin.ModelAdmin):
    """Derived or append-only data: visible to operators, changed only by the code that owns it.

    Shared by the admins of several apps (analytics' events and rollups, gamification's awards and totals), so it
    lives here rather than in one of them.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    """Background jobs (roster imports, and later training, report runs, syncs): written by their tasks only."""

    list_display = ["id", "kind", "status", "progress", "organization", "requested_by", "created_at", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["kind", "message", "requested_by__username"]
    list_select_related = ["organization", "requested_by"]
    date_hierarchy = "created_at"
    fields = readonly_fields = (
        "kind",
        "status",
        "progress",
        "message",
        "organization",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "result",
    )


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows, for the lists of tables with millions of rows (analytics' events, gamification's
    ledger): an exact COUNT(*) of a filtered partitioned table costs more than the page itself. Beyond the cap the
    list says CAP and pages up to there; narrowing the filters reaches older rows."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        # COUNT over a LIMITed subquery: PostgreSQL stops reading after CAP rows.
        rows = self.object_list.select_related(None).order_by()  # type: ignore[attr-defined]
        return int(rows[: self.CAP].count())
