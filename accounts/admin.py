from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Organization, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created_at"]
    list_filter = ["time_zone"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "role", "organization", "is_active", "last_login"]
    list_filter = ["role", "organization", "is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email", "first_name", "last_name", "public_handle"]
    list_select_related = ["organization"]
    readonly_fields = ["public_handle", "last_login", "date_joined"]
    autocomplete_fields = ["organization"]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("EduPath", {"fields": ("role", "organization", "public_handle")}),
    )
    add_fieldsets = (
        *DjangoUserAdmin.add_fieldsets,
        ("EduPath", {"fields": ("role", "organization", "email", "first_name", "last_name")}),
    )
