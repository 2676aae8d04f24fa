from django.contrib import admin

from messaging.models import Message, MessageRecipient


class RecipientInline(admin.TabularInline):
    model = MessageRecipient
    fields = ["student", "emailed_at"]
    readonly_fields = ["student", "emailed_at"]
    extra = 0
    can_delete = False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """The log of messages sent to students: read-only (a message is sent from the class dashboard or the API)."""

    list_display = ["subject", "course", "sender", "sent_at"]
    list_filter = ["course"]
    search_fields = ["subject", "body", "sender__username", "course__code"]
    date_hierarchy = "sent_at"
    list_select_related = ["course", "sender"]
    readonly_fields = ["course", "sender", "subject", "body", "sent_at", "request_id"]
    inlines = [RecipientInline]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
