"""Messages to students: a teacher sends one to some students of a class; a student lists their notices."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStaffRole
from classroom.api.scoping import ScopedViewMixin
from core.exceptions import FlatFieldErrors
from messaging import selectors, services
from messaging.api.serializers import MessageIn, MessageOut, NoticeOut


class CourseMessageView(FlatFieldErrors, APIView):
    """Send a message to students of one class: an in-app notice for each (on their progress page and in
    `GET /api/v1/notices`), logged per student, and one email each. Teachers of the class and the school's
    administrators; the students must be actively enrolled there. At most MESSAGING_MAX_PER_HOUR messages per
    sender in any hour (429 with Retry-After). A bad entry of `students` is named by its place (`students.2`)."""

    permission_classes = [IsStaffRole]
    also_answers = (status.HTTP_429_TOO_MANY_REQUESTS,)

    @extend_schema(
        summary="Send a message to students of a class",
        request=MessageIn,
        responses={201: MessageOut, 200: MessageOut},
    )
    def post(self, request: Request, course_pk: int) -> Response:
        given = MessageIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            sent = services.message_send(
                sender=request.user,  # type: ignore[arg-type]
                course_id=course_pk,
                student_ids=data["students"],
                subject=data["subject"],
                body=data["body"],
                request_id=data.get("request_id"),
            )
        except services.RateLimited as limited:
            raise Throttled(wait=limited.retry_after, detail=str(limited)) from None
        message = sent.message
        answer = {
            "id": message.pk,
            "course": message.course_id,
            "subject": message.subject,
            "body": message.body,
            "sent_at": message.sent_at,
            "recipients": sent.recipients,
        }
        return Response(MessageOut(answer).data, status=status.HTTP_201_CREATED if sent.created else status.HTTP_200_OK)


@extend_schema(summary="Your notices: messages from your teachers")
class NoticeListView(ScopedViewMixin, generics.ListAPIView):
    """The messages teachers sent you, newest first (a teacher or administrator receives none)."""

    scope = staticmethod(selectors.visible_notices)
    serializer_class = NoticeOut
    filter_backends: list[Any] = []

    def refine(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.select_related("message__course", "message__sender").order_by("-message_id")
