"""The at-risk records for platform operators (docs/decisions/0003): read-only, since versions are made by training,
predictions by scoring and alerts by both; the writes go through risk.services and risk.alerts as actions."""

from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.models import Organization, User
from core.exceptions import ApplicationError
from risk.alerts import alert_acknowledge, alert_resolve
from risk.models import Alert, Intervention, ModelVersion, Prediction, PredictionFeedback
from risk.services import train_request


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(description="Train a new version now (for the selected versions' organisations)")
def train_now(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
    organization_ids = sorted({version.organization_id for version in queryset}, key=lambda pk: pk or 0)
    organizations = Organization.objects.in_bulk([pk for pk in organization_ids if pk is not None])
    for organization_id in organization_ids:
        organization = organizations.get(organization_id) if organization_id is not None else None
        job = train_request(requested_by=request.user, organization=organization)
        name = organization.name if organization is not None else "every organisation"
        modeladmin.message_user(request, f"Training for {name} queued: job {job.pk} (GET /api/v1/jobs/{job.pk}).")


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    """Versions are made by training (`train_risk_model`, the weekly beat job, the action here); their metrics and
    decision are the record of that run and are not edited."""

    actions = [train_now]
    list_display = ["id", "organization", "algorithm", "status", "trained_as_of", "created_at"]
    list_filter = ["status", "organization", "algorithm"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
    exclude = ["artifact"]  # the fitted model: bytes, not for reading here


@admin.register(Prediction)
class PredictionAdmin(ReadOnlyAdmin):
    list_display = ["student", "course", "as_of", "level", "probability", "model_version"]
    list_filter = ["level", "course__organization"]
    search_fields = ["student__username", "course__code"]
    list_select_related = ["student", "course", "model_version"]
    date_hierarchy = "as_of"
    raw_id_fields = ["enrollment", "student", "course", "model_version"]


def _lifecycle(
    change: Any, verb: str, modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Alert]
) -> None:
    done = 0
    for alert_id in queryset.values_list("pk", flat=True):
        try:
            change(viewer=cast(User, request.user), alert_id=alert_id)
            done += 1
        except ApplicationError as refused:
            modeladmin.message_user(request, f"Alert {alert_id}: {refused.message}", level=messages.WARNING)
    modeladmin.message_user(request, f"{done} alert(s) {verb}.")


@admin.action(description="Acknowledge the selected alerts")
def acknowledge(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
    _lifecycle(alert_acknowledge, "acknowledged", modeladmin, request, queryset)


@admin.action(description="Resolve the selected alerts")
def resolve(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
    _lifecycle(alert_resolve, "resolved", modeladmin, request, queryset)


class InterventionInline(admin.TabularInline):
    model = Intervention
    fields = ["created_at", "teacher", "kind", "note", "message"]
    readonly_fields = ["created_at", "teacher", "kind", "note", "message"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    """Alerts are raised by scoring; their lifecycle moves through the actions (the same services as the API)."""

    actions = [acknowledge, resolve]
    list_display = ["student", "course", "level", "probability", "status", "created_at"]
    list_filter = ["status", "level", "organization"]
    search_fields = ["student__username", "course__code"]
    list_select_related = ["student", "course"]
    date_hierarchy = "created_at"
    raw_id_fields = ["student", "course", "enrollment", "prediction", "acknowledged_by", "resolved_by"]
    inlines = [InterventionInline]


@admin.register(PredictionFeedback)
class PredictionFeedbackAdmin(ReadOnlyAdmin):
    list_display = ["prediction", "teacher", "verdict", "updated_at"]
    list_filter = ["verdict"]
    list_select_related = ["prediction", "teacher"]
    raw_id_fields = ["prediction", "teacher"]


@admin.register(Intervention)
class InterventionAdmin(ReadOnlyAdmin):
    list_display = ["alert", "teacher", "kind", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["alert", "teacher"]
    raw_id_fields = ["alert", "teacher", "message"]
