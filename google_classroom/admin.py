"""Google Classroom for platform operators: who connected which Google account (never the token: the encrypted
refresh token is neither listed nor shown), each synced course and how its last sync went, the summaries posted
back and the consents in flight (never their PKCE verifier). Everything is read-only history written by the
connector's services; the one thing done from here is the action "Sync now" (services.sync_request). Fingerprints
are the sync's bookkeeping (a hash per Google record) and stay out of admin."""

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import User
from core.exceptions import ApplicationError
from google_classroom.models import Connection, ConsentRequest, PostedSummary, SyncedCourse
from google_classroom.services import sync_request


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Sync now (a job per connection)")
def sync_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
    for connection in queryset.select_related("user"):
        try:
            job = sync_request(connection=connection, requested_by=cast(User, request.user))
        except ApplicationError as refused:
            modeladmin.message_user(request, f"{connection.google_email}: {refused.message}", messages.WARNING)
            continue
        modeladmin.message_user(request, f"{connection.google_email}: sync job {job.pk} (GET /api/v1/jobs/{job.pk}).")


class SyncedCourseInline(admin.TabularInline):
    model = SyncedCourse
    extra = 0
    can_delete = False
    fields = ("name", "google_course_id", "course", "status", "last_synced_at", "last_error")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


CONNECTION_FIELDS = (
    "user",
    "organization",
    "google_email",
    "google_user_id",
    "scopes",
    "status",
    "status_message",
    "include_archived",
    "last_sync_at",
    "last_sync_job",
    "created_at",
    "updated_at",
)


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = ["user", "google_email", "organization", "status", "last_sync_at"]
    list_filter = ["status", "organization"]
    search_fields = ["google_email", "user__username", "user__email"]
    list_select_related = ["user", "organization"]
    # Explicit fields: the encrypted refresh token is not one of them, on any page.
    fields = CONNECTION_FIELDS
    # Only whether archived courses are synced may be changed here; the rest is what Google and the syncs said.
    readonly_fields = [field for field in CONNECTION_FIELDS if field != "include_archived"]
    inlines = [SyncedCourseInline]
    actions = [sync_now]
    date_hierarchy = "last_sync_at"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a connection is made by its owner's consent on the Integrations page


@admin.register(SyncedCourse)
class SyncedCourseAdmin(ReadOnlyAdmin):
    list_display = ["name", "connection", "status", "last_synced_at", "last_error", "counts"]
    list_filter = ["status", "connection__organization"]
    search_fields = ["name", "google_course_id", "connection__google_email"]
    list_select_related = ["connection__user", "course"]
    raw_id_fields = ["connection", "course"]


@admin.register(PostedSummary)
class PostedSummaryAdmin(ReadOnlyAdmin):
    list_display = ["synced_course", "posted_by", "posted_at", "google_announcement_id", "google_state"]
    search_fields = ["synced_course__name", "google_announcement_id", "posted_by__username"]
    list_select_related = ["synced_course__connection__user", "posted_by"]
    raw_id_fields = ["synced_course", "posted_by"]
    date_hierarchy = "posted_at"


@admin.register(ConsentRequest)
class ConsentRequestAdmin(ReadOnlyAdmin):
    list_display = ["user", "purpose", "created_at", "used_at"]
    list_filter = ["purpose"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    # Explicit fields: the encrypted PKCE verifier stays out (the state alone is useless without it).
    fields = ["user", "purpose", "scopes", "state", "created_at", "used_at"]
    date_hierarchy = "created_at"
