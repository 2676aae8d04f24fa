"""Writes of the connector: connecting a Google account (consent with state and PKCE, the callback), disconnecting
(revoked at Google, deleted here), asking for a sync (a job), running one, rotating the token keys, and posting a
class summary back as a draft announcement. Who may do each is decided by selectors.connection_for /
synced_course_for (the permission rules live there)."""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from core.exceptions import ApplicationError
from core.jobs import job_create, job_fail, job_finish, job_progress, job_start
from core.models import Job
from google_classroom import client as google
from google_classroom.crypto import InvalidToken, TokenKeysMissing, token_decrypt, token_encrypt, token_rotate
from google_classroom.jobs import SYNC_JOB
from google_classroom.models import Connection, ConsentRequest, PostedSummary, SyncedCourse
from google_classroom.sync import connection_needs_reconnect, connection_sync

logger = logging.getLogger(__name__)

# A consent screen left open longer than this must be started again.
CONSENT_MINUTES = 15


class ConsentRefused(ApplicationError):
    """The callback cannot be accepted (its message says why, for the person in the browser)."""


def _staff_only(user: User) -> None:
    if user.role not in (Role.TEACHER, Role.ADMIN):
        raise ApplicationError("Only teachers and administrators connect Google Classroom.")


def consent_start(*, user: User, purpose: str = ConsentRequest.Purpose.CONNECT, now: datetime | None = None) -> str:
    """Google's consent URL for `user`: read-only Classroom scopes to connect; for posting back, the connection's
    scopes plus the announcements scope (asked only then). The state and PKCE verifier stay here."""
    _staff_only(user)
    if not google.configured():
        raise ApplicationError(google_setup_message())
    scopes = list(google.READ_SCOPES)
    if purpose == ConsentRequest.Purpose.POST:
        connection = Connection.objects.filter(user=user).first()
        if connection is None:
            raise ApplicationError("Connect Google Classroom first.")
        scopes = sorted({*connection.scopes, *google.READ_SCOPES, google.POST_SCOPE})
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters of the unreserved set (RFC 7636: 43 to 128)
    ConsentRequest.objects.create(
        state=state,
        user=user,
        purpose=purpose,
        scopes=scopes,
        code_verifier_encrypted=token_encrypt(verifier),
        created_at=now or timezone.now(),
    )
    hint = user.google_connection.google_email if purpose == ConsentRequest.Purpose.POST else user.email
    try:
        return google.consent_url(scopes=scopes, state=state, code_verifier=verifier, login_hint=hint)
    except google.NotConfigured as error:
        raise ApplicationError(str(error)) from None


def google_setup_message() -> str:
    return (
        "Google Classroom is not set up on this server yet: an administrator sets GOOGLE_CLIENT_ID, "
        "GOOGLE_CLIENT_SECRET and GOOGLE_TOKEN_KEYS (README, 'Google Classroom')."
    )


@dataclass(frozen=True)
class CallbackOutcome:
    connection: Connection
    purpose: str


def consent_finish(
    *, user: User, state: str, code: str, error: str = "", now: datetime | None = None
) -> CallbackOutcome:
    """Google's redirect back: the state must be one we issued to this user, unused and recent; then the code is
    exchanged with the PKCE verifier, the account's profile read, and the connection stored (the refresh token
    encrypted). A second connection of the same person replaces the first.

    The state is spent first, in a statement of its own that commits whatever follows: a refused callback (denied,
    no code, a code Google rejects) cannot be replayed either."""
    now = now or timezone.now()
    request = ConsentRequest.objects.filter(state=state, user=user).first() if state else None
    if request is None:
        raise ConsentRefused("This sign-in link is not valid for you. Start connecting again from Integrations.")
    spent = ConsentRequest.objects.filter(pk=request.pk, used_at__isnull=True).update(used_at=now)
    if not spent:
        raise ConsentRefused("This sign-in link was used already. Start connecting again from Integrations.")
    if request.created_at < now - timedelta(minutes=CONSENT_MINUTES):
        raise ConsentRefused("The sign-in took too long. Start connecting again from Integrations.")
    if error:
        message = "You did not allow access" if error == "access_denied" else f"Google answered '{error[:60]}'"
        raise ConsentRefused(f"{message}; nothing was connected.")
    if not code:
        raise ConsentRefused("Google sent no authorisation code; nothing was connected. Start again.")
    try:
        grant = google.code_exchange(
            code=code,
            scopes=list(request.scopes),
            state=state,
            code_verifier=token_decrypt(request.code_verifier_encrypted),
        )
        profile = google.ClassroomClient(refresh_token=grant.refresh_token, scopes=grant.scopes).me()
    except google.GoogleError as failure:
        raise ConsentRefused(str(failure)) from None
    missing = sorted(set(request.scopes) - set(grant.scopes))
    if missing:
        google.token_revoke(grant.refresh_token)
        raise ConsentRefused(
            "Google granted less access than needed (" + ", ".join(s.rsplit("/", 1)[-1] for s in missing) + "); "
            "connect again and allow every item."
        )
    google_id, email = str(profile.get("id") or ""), str(profile.get("emailAddress") or "")
    if not google_id:
        raise ConsentRefused("Google did not say which account signed in; nothing was connected.")
    with transaction.atomic():
        return _connection_store(user=user, google_id=google_id, email=email, grant=grant, purpose=request.purpose)


def _connection_store(*, user: User, google_id: str, email: str, grant: google.Grant, purpose: str) -> CallbackOutcome:
    connection, created = Connection.objects.select_for_update().get_or_create(
        user=user,
        defaults={
            "organization_id": user.organization_id,
            "google_user_id": google_id,
            "google_email": email,
            "scopes": grant.scopes,
            "refresh_token_encrypted": token_encrypt(grant.refresh_token),
        },
    )
    if not created:
        if connection.google_user_id != google_id:
            connection.courses.all().delete()  # another Google account: its courses are not this one's
        connection.google_user_id, connection.google_email, connection.scopes = google_id, email, grant.scopes
        connection.refresh_token_encrypted = token_encrypt(grant.refresh_token)
        connection.status, connection.status_message = Connection.Status.ACTIVE, ""
        connection.save()
    return CallbackOutcome(connection=connection, purpose=purpose)


def connection_client(connection: Connection) -> google.ClassroomClient:
    try:
        refresh_token = token_decrypt(connection.refresh_token_encrypted)
    except (InvalidToken, TokenKeysMissing):
        connection_needs_reconnect(
            connection=connection, message="The stored token cannot be read with the current keys; reconnect."
        )
        raise google.AccessRevoked("The stored token cannot be read with the current keys; reconnect.") from None
    return google.ClassroomClient(refresh_token=refresh_token, scopes=list(connection.scopes))


def connection_disconnect(*, connection: Connection) -> bool:
    """Revoke the token at Google and delete the connection (its synced courses stay in EduPath as ordinary
    classes). True when Google confirmed the revocation."""
    revoked = False
    try:
        revoked = google.token_revoke(token_decrypt(connection.refresh_token_encrypted))
    except (InvalidToken, TokenKeysMissing):
        logger.warning("google connection %s: token unreadable, deleted without revoking", connection.pk)
    connection.delete()
    return revoked


def sync_request(*, connection: Connection, requested_by: User, google_course_ids: list[str] | None = None) -> Job:
    """Queue a sync of the connection (or of some of its courses) as a job; refused while the connection needs
    reconnecting or another sync of it is queued or running."""
    if connection.status != Connection.Status.ACTIVE:
        raise ApplicationError(
            "This Google connection needs reconnecting before it can sync.",
            errors={"connection": [connection.status_message or "Reconnect Google Classroom."]},
        )
    busy = Job.objects.filter(
        kind=SYNC_JOB, params__connection_id=connection.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).first()
    if busy is not None:
        return busy
    job = job_create(
        kind=SYNC_JOB,
        requested_by=requested_by,
        organization_id=connection.organization_id,
        params={"connection_id": connection.pk, "google_course_ids": google_course_ids},
        message="Queued.",
    )
    Connection.objects.filter(pk=connection.pk).update(last_sync_job=job)
    transaction.on_commit(lambda: sync_enqueue(job_id=job.pk))
    return job


def sync_enqueue(*, job_id: int) -> None:
    from google_classroom.tasks import sync_run  # the task module imports this one

    try:
        sync_run.delay(job_id)
    except Exception as error:  # the broker is unreachable: say so on the job
        logger.exception("could not queue google classroom sync job %s", job_id)
        job_fail(job_id=job_id, message=f"Could not be queued ({type(error).__name__}); try again.")


def sync_job_run(*, job_id: int, now: datetime | None = None) -> None:
    """Run a queued sync job (a repeated delivery does nothing)."""
    if not job_start(job_id=job_id, message="Reading Google Classroom."):
        return
    job = Job.objects.get(pk=job_id)
    connection = Connection.objects.select_related("organization", "user").filter(pk=job.params.get("connection_id"))
    found = connection.first()
    if found is None:
        job_fail(job_id=job_id, message="The Google connection was removed before the sync ran.", now=now)
        return
    ids = job.params.get("google_course_ids")
    try:
        result = connection_sync(
            connection=found,
            client=connection_client(found),
            now=now,
            google_course_ids=set(ids) if ids else None,
            progress=lambda percent, message: job_progress(job_id=job_id, percent=percent, message=message),
        )
    except google.AccessRevoked as error:
        job_fail(job_id=job_id, message=str(error), now=now)
        return
    except google.GoogleError as error:  # the course list itself could not be read
        job_fail(job_id=job_id, message=str(error), now=now)
        return
    except Exception:
        job_fail(job_id=job_id, message="Failed unexpectedly. Operators have the log.", now=now)
        raise
    message = f"{result['synced']} of {result['courses']} courses synced; {result['written']} rows written."
    if result["failed"]:
        job_fail(job_id=job_id, message=message + f" {result['failed']} failed.", result=result, now=now)
    else:
        job_finish(job_id=job_id, result=dict(result), message=message, now=now)


def sync_all_request() -> int:
    """The hourly beat: a sync job for every active connection. Connections needing reconnection are skipped (no
    retry storm against a revoked token)."""
    queued = 0
    for connection in Connection.objects.filter(status=Connection.Status.ACTIVE).select_related("user"):
        sync_request(connection=connection, requested_by=connection.user)
        queued += 1
    return queued


def tokens_rotate() -> int:
    """Re-encrypt every stored token (refresh tokens and open consents' verifiers) with the first key of
    GOOGLE_TOKEN_KEYS. Answers how many were re-encrypted."""
    rotated = 0
    with transaction.atomic():
        for connection in Connection.objects.select_for_update():
            connection.refresh_token_encrypted = token_rotate(connection.refresh_token_encrypted)
            connection.save(update_fields=["refresh_token_encrypted"])
            rotated += 1
        for request in ConsentRequest.objects.select_for_update().filter(used_at__isnull=True):
            request.code_verifier_encrypted = token_rotate(request.code_verifier_encrypted)
            request.save(update_fields=["code_verifier_encrypted"])
            rotated += 1
    return rotated


def summary_post(*, synced: SyncedCourse, posted_by: User, text: str, now: datetime | None = None) -> PostedSummary:
    """Post the class summary `text` (built by summary.class_summary: counts, no names) to the Classroom
    course as a DRAFT announcement, for the teacher to review in Classroom."""
    connection = synced.connection
    if google.POST_SCOPE not in connection.scopes:
        raise ApplicationError(
            "Posting to Classroom needs one more permission.",
            errors={"connection": ["Allow posting announcements first (Integrations, 'Allow posting')."]},
        )
    try:
        answer: dict[str, Any] = connection_client(connection).announcement_draft(synced.google_course_id, text)
    except google.AccessRevoked as error:
        connection_needs_reconnect(connection=connection, message=str(error))
        raise ApplicationError(str(error)) from None
    except google.GoogleError as error:
        raise ApplicationError(f"Google Classroom did not take the announcement: {error}") from None
    announcement_id = str(answer.get("id") or "")
    if not announcement_id:
        raise ApplicationError("Google Classroom answered without the announcement's id; check the course there.")
    return PostedSummary.objects.create(
        synced_course=synced,
        posted_by=posted_by,
        posted_at=now or timezone.now(),
        text=text,
        google_announcement_id=announcement_id,
        google_state=str(answer.get("state") or "DRAFT")[:16],
    )
