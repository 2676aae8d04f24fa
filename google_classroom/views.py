"""The Integrations page (teachers and administrators; a student gets the 404 of every staff page): connect a Google
account (consent, then Google's redirect back to the callback), sync now with the job's progress, disconnect, and
per synced course a preview of the class summary that can be posted back to Classroom as a draft announcement.

Every page is server-rendered and every action a plain POST form (CSRF-protected), so all of it works without
JavaScript; integrations.js only follows a queued or running sync job (`GET /api/v1/jobs/{id}`). Who sees which
connection and course is decided by google_classroom.selectors alone; a refusal a person can act on (a bad
callback, a connection needing reconnecting) is shown on the page with status 400, never as a 500."""

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, User
from accounts.permissions import is_staff_role
from core.exceptions import ApplicationError
from core.models import Job
from google_classroom import client as google
from google_classroom.crypto import InvalidToken, TokenKeysMissing
from google_classroom.models import Connection, ConsentRequest, SyncedCourse
from google_classroom.selectors import (
    connection_status,
    own_connection,
    posts_of,
    synced_course_for,
    visible_connections,
)
from google_classroom.services import (
    ConsentRefused,
    connection_disconnect,
    consent_finish,
    consent_start,
    google_setup_message,
    summary_post,
    sync_request,
)
from google_classroom.summary import class_summary

# How the page names a job's status (the same words integrations.js uses while it follows one)
JOB_WORDS = {"queued": "Queued", "running": "Syncing", "succeeded": "Done", "failed": "Failed"}


def _staff(request: HttpRequest) -> User:
    if not is_staff_role(request.user):
        raise Http404
    return cast(User, request.user)


def _course_rows(connection: Connection) -> list[dict[str, Any]]:
    rows = []
    for synced in connection.courses.select_related("course").order_by("name", "google_course_id"):
        counts = synced.counts or {}
        rows.append(
            {
                "synced": synced,
                "dashboard_url": reverse("class-dashboard", args=[synced.course_id]) if synced.course_id else "",
                "students": counts.get("students"),
                "items": counts.get("items"),
                "submissions": counts.get("submissions"),
            }
        )
    return rows


def _organisation_connections(viewer: User) -> list[Connection]:
    """Every connection of the administrator's organisation with its failed courses; nothing for a teacher (their
    own connection is the page's main card)."""
    if viewer.role != Role.ADMIN:
        return []
    failed = Prefetch(
        "courses",
        queryset=SyncedCourse.objects.filter(status=SyncedCourse.Status.FAILED).order_by("name"),
        to_attr="failed_courses",
    )
    return list(visible_connections(viewer).select_related("user").prefetch_related(failed).order_by("google_email"))


def _integrations_page(request: HttpRequest, *, status: int = 200, error: str = "") -> HttpResponse:
    viewer = _staff(request)
    connection = own_connection(viewer)
    job: Job | None = None
    if connection is not None and connection.last_sync_job_id:
        job = Job.objects.filter(pk=connection.last_sync_job_id).first()
    context = {
        "configured": google.configured(),
        "setup_message": google_setup_message(),
        "connection": connection,
        "state": connection_status(connection),
        "needs_reconnect": connection is not None and connection.status == Connection.Status.NEEDS_RECONNECT,
        "job": job,
        "job_words": JOB_WORDS.get(job.status, job.status) if job else "",
        "job_active": job is not None and job.status in (Job.Status.QUEUED, Job.Status.RUNNING),
        "course_rows": _course_rows(connection) if connection is not None else [],
        "organisation_connections": _organisation_connections(viewer),
        "is_admin": viewer.role == Role.ADMIN,
        "error": error,
        "purpose_post": ConsentRequest.Purpose.POST,
        "zone": viewer.organization.time_zone if viewer.organization else "UTC",
    }
    return render(request, "google_classroom/integrations.html", context, status=status)


@login_required
@require_GET
def integrations(request: HttpRequest) -> HttpResponse:
    return _integrations_page(request)


@login_required
@require_POST
def connect(request: HttpRequest) -> HttpResponse:
    """Off to Google's consent screen: to connect (read-only scopes), or with `purpose=post` to allow posting
    summaries (the announcements scope, asked only then)."""
    viewer = _staff(request)
    purpose = request.POST.get("purpose") or ConsentRequest.Purpose.CONNECT
    if purpose not in ConsentRequest.Purpose.values:
        return _integrations_page(request, status=400, error="Unknown purpose: connect or post.")
    try:
        url = consent_start(user=viewer, purpose=purpose)
    except ApplicationError as refused:
        return _integrations_page(request, status=400, error=refused.message)
    except TokenKeysMissing as misconfigured:  # a GOOGLE_TOKEN_KEYS entry that is not a Fernet key
        return _integrations_page(request, status=400, error=str(misconfigured))
    return redirect(url)


@login_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Google's redirect back after consent. Refused (a state not ours or used already, no code, access denied):
    the Integrations page with the reason, status 400, nothing connected."""
    viewer = _staff(request)
    try:
        outcome = consent_finish(
            user=viewer,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
        )
    except (ConsentRefused, ApplicationError) as refused:
        return _integrations_page(request, status=400, error=str(refused))
    except (TokenKeysMissing, InvalidToken):  # the keys changed while the person was at Google
        return _integrations_page(
            request, status=400, error="The sign-in could not be checked with this server's keys; connect again."
        )
    if outcome.purpose == ConsentRequest.Purpose.POST:
        messages.success(request, "Posting class summaries to Google Classroom is allowed now.")
    else:
        messages.success(
            request,
            f"Connected Google Classroom as {outcome.connection.google_email}. Press 'Sync now' to bring "
            "your classes in (they are also synced every hour).",
        )
    return redirect("integrations")


@login_required
@require_POST
def sync(request: HttpRequest) -> HttpResponse:
    """Sync now: the whole connection, or with `google_course_id` that one course. Nothing to sync answers 404."""
    viewer = _staff(request)
    google_course_id = request.POST.get("google_course_id", "")
    if google_course_id:
        synced = synced_course_for(viewer, google_course_id)
        connection, course_ids = synced.connection, [synced.google_course_id]
        what = f"course '{synced.name}'"
    else:
        found = own_connection(viewer)
        if found is None:
            raise Http404
        connection, course_ids, what = found, None, "your Google Classroom courses"
    try:
        job = sync_request(connection=connection, requested_by=viewer, google_course_ids=course_ids)
    except ApplicationError as refused:
        return _integrations_page(request, status=400, error=refused.message)
    messages.info(request, f"Sync of {what} queued (job {job.pk}); its progress shows below.")
    return redirect(reverse("integrations") + "#sync")


@login_required
@require_http_methods(["GET", "POST"])
def disconnect(request: HttpRequest) -> HttpResponse:
    """GET: the confirmation step; POST: revoke the token at Google and forget the connection (the synced classes
    stay in EduPath as ordinary classes)."""
    viewer = _staff(request)
    connection = own_connection(viewer)
    if connection is None:
        raise Http404
    if request.method == "GET":
        context = {"connection": connection, "courses": connection.courses.count()}
        return render(request, "google_classroom/disconnect.html", context)
    email = connection.google_email
    if connection_disconnect(connection=connection):
        messages.success(request, f"Disconnected {email}; Google confirmed the access is revoked.")
    else:
        messages.warning(
            request,
            f"Disconnected {email} here, but Google did not confirm revoking the access: remove this app under "
            "'Third-party apps & services' in that Google account (myaccount.google.com/permissions).",
        )
    return redirect("integrations")


@login_required
@require_http_methods(["GET", "POST"])
def summary(request: HttpRequest, google_course_id: str) -> HttpResponse:
    """The class summary exactly as it will be posted (counts only, no names), and the summaries posted before.
    POST posts it as a draft announcement with the connection owner's Google account: only they may."""
    viewer = _staff(request)
    synced = synced_course_for(viewer, google_course_id)
    own = own_connection(viewer)
    is_owner = own is not None and own.pk == synced.connection_id
    if synced.course is None:
        raise Http404  # not synced into EduPath yet: there is nothing to summarise
    preview = class_summary(course=synced.course, now=timezone.now())
    status, error = 200, ""
    if request.method == "POST":
        if not is_owner:
            status, error = 403, "Only the teacher whose Google account synced this course can post to it."
        elif request.POST.get("text", "") != preview["text"]:
            # the figures moved between the preview and the press: post only what was seen
            status, error = 409, "The figures changed since this preview was shown. Check the new text and post again."
        else:
            try:
                posted = summary_post(synced=synced, posted_by=viewer, text=preview["text"])
            except ApplicationError as refused:
                details = [detail for details in refused.errors.values() for detail in details]
                status, error = 400, " ".join([refused.message, *details])
            else:
                messages.success(
                    request,
                    f"Posted to '{synced.name}' as a draft announcement ({posted.google_announcement_id}): "
                    "review and publish it in Google Classroom.",
                )
                return redirect("integrations-summary", google_course_id=synced.google_course_id)
    posts = list(posts_of(synced))
    context = {
        "synced": synced,
        "preview": preview,
        "posts": posts,
        "is_owner": is_owner,
        "can_post": is_owner and google.POST_SCOPE in synced.connection.scopes,
        "error": error,
        "purpose_post": ConsentRequest.Purpose.POST,
        "zone": viewer.organization.time_zone if viewer.organization else "UTC",
    }
    return render(request, "google_classroom/summary.html", context, status=status)
