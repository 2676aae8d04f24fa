"""POST /api/v1/realtime/ticket: a single-use ticket to open /ws/live/ without a cookie (docs/realtime.md)."""

from typing import Any, cast

import redis
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from accounts.models import User
from live.tickets import ticket_issue


class TicketThrottle(UserRateThrottle):
    """Per user, at settings.LIVE_TICKET_THROTTLE_RATE: a client reconnecting in a loop cannot fill Redis."""

    scope = "realtime-ticket"

    def get_rate(self) -> str:
        return str(settings.LIVE_TICKET_THROTTLE_RATE)


class LiveUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Live updates are unavailable at the moment; the REST API still answers."
    default_code = "live_unavailable"


class TicketSerializer(serializers.Serializer[Any]):
    ticket = serializers.CharField(help_text="Pass as /ws/live/?ticket=<ticket>; it works once.")
    expires_in = serializers.IntegerField(help_text="Seconds the ticket stays valid.")


@extend_schema(summary="A ticket to open the live stream", request=None, responses={201: TicketSerializer})
class TicketView(APIView):
    """A ticket for one WebSocket connection to /ws/live/, for clients without the session cookie."""

    throttle_classes = (TicketThrottle,)
    also_answers = (status.HTTP_503_SERVICE_UNAVAILABLE,)

    def post(self, request: Request) -> Response:
        try:
            ticket = ticket_issue(user_id=cast(User, request.user).pk)
        except redis.RedisError as error:
            raise LiveUnavailable() from error
        body = {"ticket": ticket, "expires_in": int(settings.LIVE_TICKET_SECONDS)}
        return Response(TicketSerializer(body).data, status=status.HTTP_201_CREATED)
