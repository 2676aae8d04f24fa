from typing import Any

from rest_framework import serializers

from core.serializers import StrictCharField, StrictSerializer
from messaging.models import SUBJECT_MAX_CHARS, MessageRecipient


class MessageIn(StrictSerializer):
    """A message to some students of the class in the path. The length limits are checked by the service, which
    names the field (MESSAGING_MAX_BODY_CHARS for the body)."""

    students = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        allow_empty=True,  # refused by the service, with the same message as the page's form
        help_text="Ids of students actively enrolled in the class (at least one; MESSAGING_MAX_RECIPIENTS at most).",
    )
    subject = StrictCharField(
        allow_blank=True, trim_whitespace=False, help_text=f"At most {SUBJECT_MAX_CHARS} characters."
    )
    body = StrictCharField(
        allow_blank=True, trim_whitespace=False, help_text="At most MESSAGING_MAX_BODY_CHARS characters."
    )
    request_id = serializers.UUIDField(
        required=False,
        help_text="Chosen by the client: sending again with the same id returns the message sent the first time "
        "(200) instead of sending it twice.",
    )


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    course = serializers.IntegerField()
    subject = serializers.CharField()
    body = serializers.CharField()
    sent_at = serializers.DateTimeField()
    recipients = serializers.ListField(child=serializers.IntegerField(), help_text="The students it was sent to.")


class NoticeOut(serializers.ModelSerializer[MessageRecipient]):
    """A message from a teacher, as the student who received it sees it."""

    course_code = serializers.CharField(source="message.course.code")
    course_title = serializers.CharField(source="message.course.title")
    sender_name = serializers.SerializerMethodField()
    subject = serializers.CharField(source="message.subject")
    body = serializers.CharField(source="message.body")
    sent_at = serializers.DateTimeField(source="message.sent_at")

    class Meta:
        model = MessageRecipient
        fields = ["id", "course_code", "course_title", "sender_name", "subject", "body", "sent_at"]

    def get_sender_name(self, recipient: MessageRecipient) -> str:
        sender: Any = recipient.message.sender
        return sender.display_name
