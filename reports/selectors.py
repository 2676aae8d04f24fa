"""Who may see which report, run and schedule (reports are for staff; which rows a run holds is decided by the
metric catalogue's scope for whoever it runs for)."""

from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.permissions import is_administrator, is_platform_operator, is_staff_role
from reports.models import ReportDefinition, ReportRun, ReportSchedule


def visible_definitions(viewer: Any) -> QuerySet[ReportDefinition]:
    """The viewer's own reports and those shared with their school's staff."""
    if not is_staff_role(viewer):
        return ReportDefinition.objects.none()
    shared = Q(visibility=ReportDefinition.Visibility.SHARED, organization_id=viewer.organization_id)
    return ReportDefinition.objects.filter(Q(owner=viewer) | shared).select_related("owner")


def editable_definitions(viewer: Any) -> QuerySet[ReportDefinition]:
    """Only the owner changes a report (another teacher runs a shared one, with their own access)."""
    return visible_definitions(viewer).filter(owner=viewer)


def visible_runs(viewer: Any) -> QuerySet[ReportRun]:
    """Runs the viewer asked for or that ran for them, runs e-mailed to them, and for administrators every run of
    their school (all for platform operators)."""
    if is_platform_operator(viewer):
        return ReportRun.objects.all()
    if not is_staff_role(viewer):
        return ReportRun.objects.none()
    mine = Q(run_for=viewer) | Q(requested_by=viewer) | Q(deliveries__recipient=viewer)
    if is_administrator(viewer):
        mine |= Q(definition__organization_id=viewer.organization_id)
    return ReportRun.objects.filter(mine).distinct()


def with_run_details(runs: QuerySet[ReportRun]) -> QuerySet[ReportRun]:
    """Runs with what their answer shows (job, version, `download_count`) in the one query."""
    return runs.select_related("job", "version").annotate(download_count=Count("downloads", distinct=True))


def visible_schedules(viewer: Any) -> QuerySet[ReportSchedule]:
    """Schedules of the reports the viewer may see."""
    return ReportSchedule.objects.filter(definition__in=visible_definitions(viewer))
