"""GET /api/v1/jobs/{id}: how a background job is doing (core.jobs), for whoever asked for it and the administrators
of its organisation (accounts.selectors.visible_jobs); 404 for anyone else, as for a job that does not exist."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import visible_jobs
from core.jobs import JobAnswer, job_answer


@extend_schema(summary="One background job: status, progress and result", responses={200: JobAnswer})
class JobView(APIView):
    """A job you asked for (e.g. a roster import answered 202), or one of your organisation's if you administer it:
    its status (queued, running, succeeded, failed), percent done, a message and, once finished, its result."""

    def get(self, request: Request, pk: int) -> Response:
        job = get_object_or_404(visible_jobs(request.user), pk=pk)
        return Response(job_answer(job))
