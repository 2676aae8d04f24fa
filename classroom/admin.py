from django.contrib import admin

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


@admin.register(LearningItem)
class LearningItemAdmin(admin.ModelAdmin):
    form = LearningItemForm
    list_display = ["title", "kind", "module", "max_points", "due_at", "estimated_minutes"]
    list_filter = ["kind", "module__course__organization"]
    search_fields = ["title", "module__title", "module__course__code", "external_id"]
    list_select_related = ["module"]
    autocomplete_fields = ["module"]


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
