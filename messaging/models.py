"""Messages teachers send to students of a class, and each student's copy: their in-app notice, and the log line of
who was sent what, when."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual

from classroom.models import Course
from core.models import TimeStampedModel

# The longest subject any message may have; the body's limit is a setting (MESSAGING_MAX_BODY_CHARS), under this
# ceiling that the database holds whatever the setting says.
SUBJECT_MAX_CHARS = 150
BODY_CEILING_CHARS = 10_000


class Message(TimeStampedModel):
    """What one teacher (or administrator) sent, once, to some students of one class, and when."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="+")
    # Protected: the log keeps who sent what; people are deactivated, not deleted.
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=SUBJECT_MAX_CHARS)
    body = models.TextField()
    sent_at = models.DateTimeField()
    # Chosen by the client (the page's form, an SPA) so that sending twice (a double click, a retry after a lost
    # answer) stores and emails the message once.
    request_id = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "request_id"],
                condition=Q(request_id__isnull=False),
                name="messaging_message_request_once",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="messaging_message_body_given"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), BODY_CEILING_CHARS), name="messaging_message_body_ceiling"
            ),
            models.CheckConstraint(condition=~Q(subject=""), name="messaging_message_subject_given"),
        ]
        indexes = [
            # The rate limit: a sender's messages of the last hour.
            models.Index(fields=["sender", "sent_at"], name="messaging_msg_sender_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.course_id}, {self.sent_at:%Y-%m-%d %H:%M})"


class MessageRecipient(models.Model):
    """One student a message went to: their in-app notice, the log line on their drill-down, and when their email
    was handed to the mail backend."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="recipients")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["message", "student"]
        constraints = [
            models.UniqueConstraint(fields=["message", "student"], name="messaging_recipient_once"),
        ]
        indexes = [
            # A student's notices, newest first; a student's log on their drill-down.
            models.Index(fields=["student", "-message"], name="messaging_rcpt_student_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.student_id}"
