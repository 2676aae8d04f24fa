from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet

from accounts.models import Organization, Role, User


def visible_organizations(user: User | AnonymousUser) -> QuerySet[Organization]:
    """Platform operators see every organisation; administrators their own; nobody else any."""
    if not (isinstance(user, User) and user.is_active):
        return Organization.objects.none()
    if user.is_superuser:
        return Organization.objects.all()
    if user.role == Role.ADMIN and user.organization_id is not None:
        return Organization.objects.filter(pk=user.organization_id)
    return Organization.objects.none()


def organization_zone(organization: Organization | None) -> ZoneInfo:
    """The one time-zone rule for people: their organisation's calendar (UTC outside any organisation). Classes
    keep their own (classroom.selectors.course_zone)."""
    return ZoneInfo(organization.time_zone if organization is not None else "UTC")
