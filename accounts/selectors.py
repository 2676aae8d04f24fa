from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q, QuerySet

from accounts.models import Organization, Role, User
from core.models import Job


def visible_organizations(user: User | AnonymousUser) -> QuerySet[Organization]:
    """Platform operators see every organisation; administrators their own; nobody else any."""
    if not (isinstance(user, User) and user.is_active):
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    if user.role == Role.ADMIN and user.organization_id is not None:
        return Organization.objects.filter(pk=user.organization_id)
    return Organization.objects.none()


def visible_jobs(user: User | AnonymousUser) -> QuerySet[Job]:
    """A job is seen by whoever asked for it and by the administrators of its organisation (platform operators: all);
    by nobody else, so an id outside them answers 404 like a missing one."""
    if not (isinstance(user, User) and user.is_active):
        return Job.objects.none()
    if user.is_superuser:
        return Job.objects.all()
    mine = Q(requested_by=user)
    if user.role == Role.ADMIN and user.organization_id is not None:
        mine |= Q(organization_id=user.organization_id)
    return Job.objects.filter(mine)


def organization_zone(organization: Organization | None) -> ZoneInfo:
    """The one time-zone rule for people: their organisation's calendar (UTC outside any organisation). Classes
    keep their own (classroom.selectors.course_zone)."""
    return ZoneInfo(organization.time_zone if organization is not None else "UTC")
