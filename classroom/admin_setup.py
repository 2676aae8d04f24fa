"""Setting up a school in Django admin: forms that refuse what the write API refuses (the same service checks, the
same messages), a course's enrolments inline, bulk actions on enrolments (drop, complete) and on people (enrol the
selected into a course of their organisation, through an intermediate page).

Writes go through classroom.services: enrolling (`enrollment_ensure`) and ending enrolments (`enrollment_end`);
edit forms validate with `course_check`, `module_check`, `learning_item_check` and `enrollment_check` before
Django saves the row.
"""

import copy
import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from accounts.models import Organization, User
from classroom.models import Course, Enrollment, LearningItem, Module
from classroom.services import (
    course_check,
    enrollment_check,
    enrollment_end,
    enrollment_ensure,
    enrollment_role_for,
    learning_item_check,
    module_check,
)
from core.exceptions import ApplicationError

ORGANISATION_ZONE = ""
ZONE_CHOICES = [
    (ORGANISATION_ZONE, "The organisation's time zone"),
    *((zone, zone) for zone in sorted(zoneinfo.available_timezones())),
]


class ServiceCheckedForm(forms.ModelForm):
    """A model form that, once its fields are valid, runs the service check on the row as it would be saved and
    shows each refusal on its field."""

    def complete(self, cleaned: dict[str, Any]) -> None:
        """Fill in defaults before the check (a subclass's hook)."""

    def check(self, candidate: Any) -> None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if self.errors:
            return cleaned
        self.complete(cleaned)
        candidate = copy.copy(self.instance)
        construct_instance(self, candidate)
        try:
            self.check(candidate)
        except ApplicationError as error:
            for field, problems in error.errors.items():
                if field in self.fields:
                    self.add_error(field, problems)
                else:
                    self.add_error(None, [f"{field}: {problem}" for problem in problems])
        return cleaned


class CourseForm(ServiceCheckedForm):
    time_zone = forms.ChoiceField(
        choices=ZONE_CHOICES,
        required=False,
        help_text="The class's days (activity, rollups, its dashboard) are counted in this zone.",
    )

    class Meta:
        model = Course
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets decide what shows

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and "time_zone" not in self.initial:
            self.initial["time_zone"] = ORGANISATION_ZONE

    def complete(self, cleaned: dict[str, Any]) -> None:
        organization: Organization | None = cleaned.get("organization")
        if not cleaned.get("time_zone") and organization is not None:
            cleaned["time_zone"] = organization.time_zone

    def check(self, candidate: Course) -> None:
        course_check(course=candidate)


class ModuleForm(ServiceCheckedForm):
    class Meta:
        model = Module
        fields = "__all__"  # noqa: DJ007

    def check(self, candidate: Module) -> None:
        if candidate.course.pk is None:
            return  # added inline with its new course: the formset checks positions among its rows
        module_check(module=candidate)


class LearningItemForm(ServiceCheckedForm):
    class Meta:
        model = LearningItem
        fields = "__all__"  # noqa: DJ007

    def check(self, candidate: LearningItem) -> None:
        learning_item_check(item=candidate)


class EnrollmentForm(ServiceCheckedForm):
    """An enrolment ends with a time: set to now (or its start) when the status leaves "active" without one, and
    cleared when it is active again."""

    class Meta:
        model = Enrollment
        fields = "__all__"  # noqa: DJ007

    def complete(self, cleaned: dict[str, Any]) -> None:
        if cleaned.get("status") == Enrollment.Status.ACTIVE:
            cleaned["ended_at"] = None
        elif not cleaned.get("ended_at") and cleaned.get("enrolled_at"):
            cleaned["ended_at"] = max(timezone.now(), cleaned["enrolled_at"])

    def check(self, candidate: Enrollment) -> None:
        enrollment_check(
            user=candidate.user,
            course=candidate.course,
            role=candidate.role,
            active=candidate.status == Enrollment.Status.ACTIVE,
            exclude_pk=candidate.pk,
        )
        if candidate.ended_at is not None and candidate.ended_at < candidate.enrolled_at:
            raise ApplicationError("An enrolment ends after it began.", errors={"ended_at": ["Before enrolled at."]})


class EnrolledNowMixin:
    """ "Enrolled at" starts at the moment the form is opened."""

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if db_field.name == "enrolled_at" and field is not None:
            field.initial = timezone.now
        return field


class EnrollmentInline(EnrolledNowMixin, admin.TabularInline):
    """A course's enrolments on its page (for a very large class, the Enrollments list filtered by course pages
    them)."""

    model = Enrollment
    form = EnrollmentForm
    extra = 0
    fields = ["user", "role", "status", "enrolled_at", "ended_at"]
    autocomplete_fields = ["user"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Enrollment]:
        return super().get_queryset(request).select_related("user")


@transaction.atomic
def end_enrollments(queryset: QuerySet[Enrollment], status: str) -> tuple[int, int]:
    """End the active enrolments of `queryset` as `status` (now, or at their start for one not begun yet); how many
    were ended and how many had ended already."""
    ended = already = 0
    now = timezone.now()
    for enrollment in queryset.select_for_update().order_by("pk"):
        if enrollment.status != Enrollment.Status.ACTIVE:
            already += 1
            continue
        enrollment_end(enrollment=enrollment, status=status, ended_at=max(now, enrollment.enrolled_at))
        ended += 1
    return ended, already


def report_ended(modeladmin: admin.ModelAdmin, request: HttpRequest, verb: str, counts: tuple[int, int]) -> None:
    ended, already = counts
    message = f"{verb} {ended} enrolment{'s' if ended != 1 else ''}."
    if already:
        message += f" {already} had already ended and stay as they were."
    modeladmin.message_user(request, message, messages.SUCCESS if ended else messages.WARNING)


@admin.action(description="Drop the selected enrolments")
def drop_enrollments(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
    report_ended(modeladmin, request, "Dropped", end_enrollments(queryset, Enrollment.Status.DROPPED))


@admin.action(description="Mark the selected enrolments completed")
def complete_enrollments(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Enrollment]) -> None:
    report_ended(modeladmin, request, "Completed", end_enrollments(queryset, Enrollment.Status.COMPLETED))


class EnrolIntoCourseForm(forms.Form):
    course = forms.ModelChoiceField(queryset=Course.objects.none(), help_text="A course of their organisation.")

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["course"]
        if isinstance(field, forms.ModelChoiceField):
            field.queryset = Course.objects.filter(organization=organization).order_by("code")


@admin.action(description="Enrol the selected people into a course…")
def enrol_into_course(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[User]) -> Any:
    """First an intermediate page choosing the course (of the people's organisation), then one enrolment each:
    students attend, teachers and administrators teach; someone already enrolled stays as they are."""
    organization_ids = set(queryset.values_list("organization_id", flat=True))
    if len(organization_ids) != 1 or None in organization_ids:
        modeladmin.message_user(
            request, "Select people of one organisation: they are enrolled into one of its courses.", messages.ERROR
        )
        return None
    organization = Organization.objects.get(pk=organization_ids.pop())
    form = EnrolIntoCourseForm(request.POST if "apply" in request.POST else None, organization=organization)
    if form.is_valid():
        course: Course = form.cleaned_data["course"]
        created, existing, refused = 0, 0, []
        now = timezone.now()
        for person in queryset.order_by("username"):
            try:
                role = enrollment_role_for(person)
                _, new = enrollment_ensure(user=person, course=course, role=role, enrolled_at=now)
            except ApplicationError as error:
                problems = [problem for field in error.errors.values() for problem in field] or [error.message]
                refused.append(f"{person.username} ({'; '.join(problems)})")
                continue
            created, existing = created + new, existing + (not new)
        summary = f"Enrolled {created} into {course.code}."
        if existing:
            summary += f" {existing} were enrolled already."
        modeladmin.message_user(request, summary, messages.SUCCESS)
        if refused:
            modeladmin.message_user(request, f"Not enrolled: {', '.join(refused)}.", messages.ERROR)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Enrol {queryset.count()} people of {organization} into a course",
        "opts": modeladmin.model._meta,
        "people": queryset.order_by("username"),
        "form": form,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "action": "enrol_into_course",
    }
    return TemplateResponse(request, "admin/classroom/enrol_into_course.html", context)


def register_people_admin(site: admin.AdminSite) -> None:
    """Add "Enrol the selected people into a course…" to the people list. accounts' admin registers User and
    knows nothing of courses (accounts sits below classroom), so its admin class is extended here and registered
    again; accounts' admin is loaded first (accounts comes before classroom in INSTALLED_APPS)."""
    accounts_admin = type(site.get_model_admin(User))
    people_admin = type(
        "PeopleAdmin",
        (accounts_admin,),
        {"__module__": __name__, "actions": [*(accounts_admin.actions or []), enrol_into_course]},
    )
    site.unregister(User)
    site.register(User, people_admin)
