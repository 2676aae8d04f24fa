from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.postgres.forms import SimpleArrayField
from django.http import HttpRequest

from classroom.admin_roster import RosterImportAdminMixin
from classroom.admin_setup import (
    CourseForm,
    EnrolledNowMixin,
    EnrollmentForm,
    EnrollmentInline,
    LearningItemForm,
    ModuleForm,
    complete_enrollments,
    drop_enrollments,
    register_people_admin,
)
from classroom.models import Course, Enrollment, LearningItem, LearningPath, LearningPathStep, Module, Submission
from classroom.services import difficulty_source_for, learning_item_prerequisites_check


class ModuleInline(admin.TabularInline):
    model = Module
    form = ModuleForm
    extra = 0
    fields = ["position", "title", "external_source", "external_id"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    form = CourseForm  # the time zone from a list, the organisation's by default; course_check's refusals
    list_display = [
        "code",
        "title",
        "organization",
        "subject",
        "start_date",
        "end_date",
        "time_zone",
        "external_source",
    ]
    list_filter = ["organization", "subject", "external_source"]
    search_fields = ["code", "title", "subject", "external_id"]
    list_select_related = ["organization"]
    date_hierarchy = "start_date"
    autocomplete_fields = ["organization"]
    inlines = [ModuleInline, EnrollmentInline]


@admin.register(Enrollment)
class EnrollmentAdmin(RosterImportAdminMixin, EnrolledNowMixin, admin.ModelAdmin):
    form = EnrollmentForm
    actions = [drop_enrollments, complete_enrollments]
    # "Import roster" (a CSV of people and enrolments): classroom/admin_roster.py
    list_display = ["user", "course", "role", "status", "enrolled_at", "ended_at", "final_result"]
    list_filter = ["role", "status", "final_result", "course__organization"]
    search_fields = ["user__username", "user__email", "course__code", "course__title"]
    list_select_related = ["user", "course"]
    autocomplete_fields = ["user", "course"]
    date_hierarchy = "enrolled_at"


@admin.register(Module)
class ModuleAdmin(admin.ModelAdmin):
    form = ModuleForm
    list_display = ["title", "course", "position", "external_id"]
    list_filter = ["course__organization"]
    search_fields = ["title", "course__code", "external_id"]
    list_select_related = ["course"]
    autocomplete_fields = ["course"]


class LearningItemAdminForm(LearningItemForm):
    """The item form with what recommendations need: outcomes one per line (they may hold commas), prerequisites
    offered from the item's own organisation, and the services' checks on them (learning_item_check, and
    learning_item_prerequisites_check: same organisation, not itself, no cycle), as the API applies them."""

    expected_outcomes = SimpleArrayField(
        forms.CharField(max_length=300),
        delimiter="\n",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What a learner can do afterwards: one per line, at most 10.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("tags", "prerequisite_skills"):
            self.fields[name].help_text += " Separated by commas, at most 20."
        prerequisites = self.fields.get("prerequisites")
        if isinstance(prerequisites, forms.ModelMultipleChoiceField) and self.instance.pk is not None:
            # An item being changed may only name items of its own organisation (a new one: checked on save).
            prerequisites.queryset = LearningItem.objects.filter(
                module__course__organization_id=self.instance.module.course.organization_id
            ).exclude(pk=self.instance.pk)

    def check(self, candidate: LearningItem) -> None:
        super().check(candidate)
        learning_item_prerequisites_check(
            item=candidate,
            organization_id=candidate.module.course.organization_id,
            prerequisites=self.cleaned_data.get("prerequisites") or [],
        )


@admin.register(LearningItem)
class LearningItemAdmin(admin.ModelAdmin):
    form = LearningItemAdminForm
    list_display = ["title", "kind", "module", "max_points", "due_at", "estimated_minutes", "difficulty", "week_from"]
    list_filter = ["kind", "difficulty", "difficulty_source", "module__course__organization"]
    search_fields = ["title", "module__title", "module__course__code", "external_id"]
    list_select_related = ["module"]
    autocomplete_fields = ["module", "prerequisites"]
    readonly_fields = ["difficulty_source"]
    fieldsets = [
        (None, {"fields": ["module", "kind", "title", "position", "max_points", "due_at", "estimated_minutes"]}),
        (
            "For recommendations",
            {
                "fields": [
                    "difficulty",
                    "difficulty_source",
                    "tags",
                    "prerequisites",
                    "prerequisite_skills",
                    "expected_outcomes",
                    "week_from",
                    "week_to",
                ]
            },
        ),
        ("Source", {"fields": ["activity_type", "external_source", "external_id"]}),
    ]

    def save_model(self, request: HttpRequest, obj: LearningItem, form: forms.ModelForm, change: bool) -> None:
        # A difficulty a person changes is theirs ("set"); derivation never overwrites it. Clearing it hands the item
        # back to derivation.
        if "difficulty" in form.changed_data:
            obj.difficulty_source = difficulty_source_for(obj.difficulty)
        super().save_model(request, obj, form, change)


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = ["item", "student", "attempt", "state", "score", "max_points", "submitted_at"]
    list_filter = ["state", "item__kind", "item__module__course__organization"]
    search_fields = ["student__username", "item__title", "item__module__course__code"]
    list_select_related = ["item", "student"]
    autocomplete_fields = ["item", "student"]
    date_hierarchy = "submitted_at"


class LearningPathStepInline(admin.TabularInline):
    model = LearningPathStep
    extra = 0
    autocomplete_fields = ["item"]


@admin.register(LearningPath)
class LearningPathAdmin(admin.ModelAdmin):
    list_display = ["title", "organization", "created_at"]
    list_filter = ["organization"]
    search_fields = ["title", "description"]
    inlines = [LearningPathStepInline]


@admin.register(LearningPathStep)
class LearningPathStepAdmin(admin.ModelAdmin):
    list_display = ["path", "position", "item"]
    list_filter = ["path__organization"]
    search_fields = ["path__title", "item__title"]
    list_select_related = ["path", "item"]
    autocomplete_fields = ["path", "item"]


# The people list gets "Enrol the selected people into a course…" (classroom.admin_setup.PeopleAdmin).
register_people_admin(admin.site)
