"""Writes of messaging: sending a message to students of a class, and emailing each of them.

A message is stored with one recipient row per student (their notice and the log line) in one transaction; the
emails go out after it commits, one per student, so no student sees another's address.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import cast

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import is_staff_role
from classroom.models import Course
from classroom.selectors import scoped_get_or_404, visible_courses
from core.exceptions import ApplicationError
from messaging.models import SUBJECT_MAX_CHARS, Message, MessageRecipient
from messaging.selectors import RATE_WINDOW, message_recipients_allowed, messages_sent_since

# pg_advisory_xact_lock's first key: this app's sends, serialised per sender (the second key) so that two sends at
# once can neither both pass the rate limit nor both store the same request_id.
SEND_LOCK = 7_301


class RateLimited(Exception):
    """The sender reached MESSAGING_MAX_PER_HOUR; `retry_after`: seconds until the oldest message of the hour ages
    out."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Message limit reached; try again in {retry_after} seconds.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class MessageSent:
    message: Message
    recipients: list[int]
    created: bool  # False: a message with this request_id was sent already (nothing new was stored or emailed)


def message_send(
    *,
    sender: User,
    course_id: int,
    student_ids: list[int],
    subject: str,
    body: str,
    request_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> MessageSent:
    """Send `subject` and `body` from `sender` to the students `student_ids` of the class `course_id`: an in-app
    notice for each, logged per student, and one email each after commit.

    - the class must be one the sender may see (404 otherwise) and the sender a teacher or administrator (403);
    - every student must be actively enrolled there and visible to the sender: otherwise nothing is sent and the
      ids refused are named (one message for an unknown id and a forbidden one);
    - no students, an empty or too long subject or body: nothing is sent (400 naming the field);
    - at most MESSAGING_MAX_PER_HOUR messages per sender in any hour (RateLimited);
    - the same `request_id` from the same sender again: the message sent the first time, nothing new.
    """
    now = now or timezone.now()
    if not is_staff_role(sender):
        raise PermissionDenied
    course = cast(Course, scoped_get_or_404(visible_courses(sender), course_id))
    subject, body = subject.strip(), body.strip()
    ids = list(dict.fromkeys(student_ids))  # the order given, each once
    errors: dict[str, list[str]] = {}
    if not subject:
        errors["subject"] = ["Required."]
    elif len(subject) > SUBJECT_MAX_CHARS:
        errors["subject"] = [f"At most {SUBJECT_MAX_CHARS} characters (this one has {len(subject)})."]
    limit = settings.MESSAGING_MAX_BODY_CHARS
    if not body:
        errors["body"] = ["Required."]
    elif len(body) > limit:
        errors["body"] = [f"At most {limit} characters (this one has {len(body)})."]
    if not ids:
        errors["students"] = ["Choose at least one student."]
    elif len(ids) > settings.MESSAGING_MAX_RECIPIENTS:
        errors["students"] = [f"At most {settings.MESSAGING_MAX_RECIPIENTS} students per message."]
    else:
        allowed = set(
            message_recipients_allowed(sender=sender, course=course).filter(pk__in=ids).values_list("pk", flat=True)
        )
        refused = [student_id for student_id in ids if student_id not in allowed]
        if refused:
            errors["students"] = [f"Not students of this class you may message: {', '.join(map(str, refused))}."]
    if errors:
        raise ApplicationError("The message was not sent.", errors=errors)

    with transaction.atomic():
        with connection.cursor() as cursor:
            # the two-key form takes 32-bit keys: ids beyond share a lock with another sender, which only waits
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SEND_LOCK, sender.pk % 2**31])
        if request_id is not None:
            earlier = Message.objects.filter(sender=sender, request_id=request_id).first()
            if earlier is not None:
                sent_to = list(earlier.recipients.order_by("pk").values_list("student_id", flat=True))
                return MessageSent(message=earlier, recipients=sent_to, created=False)
        recent = messages_sent_since(sender=sender, now=now)
        if len(recent) >= settings.MESSAGING_MAX_PER_HOUR:
            frees_at = recent[len(recent) - settings.MESSAGING_MAX_PER_HOUR] + RATE_WINDOW
            raise RateLimited(retry_after=max(1, int((frees_at - now) / timedelta(seconds=1)) + 1))
        message = Message.objects.create(
            course=course, sender=sender, subject=subject, body=body, sent_at=now, request_id=request_id
        )
        MessageRecipient.objects.bulk_create(
            [MessageRecipient(message=message, student_id=student_id) for student_id in ids]
        )
        transaction.on_commit(partial(message_emails_send, message_id=message.pk))
    return MessageSent(message=message, recipients=ids, created=True)


def message_emails_send(*, message_id: int) -> int:
    """Email a message to each of its recipients not emailed yet, one email per student (no student sees another's
    address), through settings.EMAIL_BACKEND; each recipient's `emailed_at` is set once their email is handed over,
    so running it again sends only what is left. Students without an address get the notice only. Returns the
    number sent."""
    message = Message.objects.select_related("course").get(pk=message_id)
    pending = (
        MessageRecipient.objects.filter(message=message, emailed_at__isnull=True)
        .exclude(student__email="")
        .select_related("student")
        .order_by("pk")
    )
    sent = 0
    with get_connection() as mail:
        for recipient in pending:
            email = EmailMessage(
                subject=f"[{message.course.code}] {message.subject}",
                body=f"{message.body}\n\n-- \nSent to you as a student of {message.course.code} "
                f"({message.course.title}) through EduPath Analytics. You also find it on your progress page.",
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[recipient.student.email],
                connection=mail,
            )
            email.send()
            MessageRecipient.objects.filter(pk=recipient.pk).update(emailed_at=timezone.now())
            sent += 1
    return sent
