"""Reads of messaging: whom a sender may message in a class, how many they sent lately, a student's notices, and the
messages a student was sent as one viewer may see them. Who may see whom is classroom.selectors' decision."""

from datetime import datetime, timedelta
from typing import Annotated, Any, TypedDict

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import User
from classroom.models import Course, Enrollment, active_student_filter
from classroom.selectors import Actor, active_member, visible_courses, visible_students
from messaging.models import Message, MessageRecipient

RATE_WINDOW = timedelta(hours=1)


def message_recipients_allowed(*, sender: User, course: Course) -> QuerySet[User]:
    """The students `sender` may message in `course`: actively enrolled there, and among the students the sender may
    see (classroom.selectors.visible_students)."""
    enrolled = Enrollment.objects.filter(active_student_filter(), user=OuterRef("pk"), course=course)
    return visible_students(sender).filter(Exists(enrolled))


def messages_sent_since(*, sender: User, now: datetime) -> list[datetime]:
    """When `sender`'s messages of the last RATE_WINDOW were sent, oldest first (the rate limit)."""
    return list(
        Message.objects.filter(sender=sender, sent_at__gt=now - RATE_WINDOW)
        .order_by("sent_at")
        .values_list("sent_at", flat=True)
    )


def visible_notices(user: Actor) -> QuerySet[MessageRecipient]:
    """The notices `user` may read: their own (a student's messages from their teachers); nobody else's."""
    member = active_member(user)
    if member is None:
        return MessageRecipient.objects.none()
    return MessageRecipient.objects.filter(student=member)


class NoticeRow(TypedDict):
    """A message as the student who received it sees it."""

    id: int
    course_code: str
    course_title: str
    sender_name: Annotated[str, "Who sent it (a teacher or administrator of the class)."]
    subject: str
    body: str
    sent_at: datetime


def sender_name(message: Message) -> str:
    return message.sender.display_name


def notice_rows(recipients: Any) -> list[NoticeRow]:
    return [
        {
            "id": recipient.pk,
            "course_code": recipient.message.course.code,
            "course_title": recipient.message.course.title,
            "sender_name": sender_name(recipient.message),
            "subject": recipient.message.subject,
            "body": recipient.message.body,
            "sent_at": recipient.message.sent_at,
        }
        for recipient in recipients
    ]


def notices_for(*, student: User, limit: int = 10) -> list[NoticeRow]:
    """The student's latest notices, newest first."""
    recipients = (
        visible_notices(student).select_related("message__course", "message__sender").order_by("-message_id")[:limit]
    )
    return notice_rows(recipients)


class LoggedMessage(TypedDict):
    """One message a student was sent, as the log on their drill-down shows it."""

    message: int
    course_code: str
    sender_name: str
    subject: str
    body: str
    sent_at: datetime
    emailed_at: Annotated[datetime | None, "When the email was handed to the mail backend (none: no address)."]


def messages_to_student(*, student: User, viewer: Actor, limit: int = 50) -> list[LoggedMessage]:
    """The messages `student` was sent in the classes `viewer` may see (a teacher: their own classes), newest first:
    who sent what, when. Nothing when the viewer may not see the student."""
    if not visible_students(viewer).filter(pk=student.pk).exists():
        return []
    recipients = (
        MessageRecipient.objects.filter(student=student, message__course__in=visible_courses(viewer))
        .select_related("message__course", "message__sender")
        .order_by("-message_id")[:limit]
    )
    return [
        {
            "message": recipient.message_id,
            "course_code": recipient.message.course.code,
            "sender_name": sender_name(recipient.message),
            "subject": recipient.message.subject,
            "body": recipient.message.body,
            "sent_at": recipient.message.sent_at,
            "emailed_at": recipient.emailed_at,
        }
        for recipient in recipients
    ]
