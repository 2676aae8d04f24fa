from django.contrib import admin


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
