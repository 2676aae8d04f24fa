"""What the Google Classroom connector keeps of its own: who connected which Google account (the refresh token
encrypted), the consent requests in flight, each synced course with its state and counts, a fingerprint of every
Google record it last wrote (what makes a sync incremental and a re-run write nothing), and the summaries posted
back. The teaching rows themselves (courses, modules, items, enrolments, submissions) live in classroom, and the
events in analytics: every page and report reads a synced class like any other."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from accounts.models import Organization
from classroom.models import Course
from core.models import TimeStampedModel


class Connection(TimeStampedModel):
    """A person's Google account connected to EduPath: a teacher for the classes they teach, or an administrator
    for every class of the organisation's Google domain they may read."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Connected"
        NEEDS_RECONNECT = "needs_reconnect", "Needs reconnecting"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="google_connections")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="google_connection")
    google_user_id = models.CharField(max_length=64)
    google_email = models.EmailField()
    scopes = ArrayField(models.CharField(max_length=120), default=list)
    # The refresh token, encrypted with MultiFernet (google_classroom.crypto; keys from GOOGLE_TOKEN_KEYS). Never
    # the token itself: not in this table, not in a log.
    refresh_token_encrypted = models.TextField(editable=False)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE)
    status_message = models.CharField(max_length=300, blank=True, default="")
    include_archived = models.BooleanField(default=False, help_text="Also sync the teacher's archived courses.")
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_job = models.ForeignKey("core.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["organization", "google_email"]

    def __str__(self) -> str:
        return f"{self.google_email} ({self.user})"


class ConsentRequest(models.Model):
    """A consent screen we sent someone to: its `state` and PKCE verifier stay here (the verifier encrypted), so the
    callback can check both; used once, and only for a few minutes."""

    class Purpose(models.TextChoices):
        CONNECT = "connect", "Connect (read-only Classroom scopes)"
        POST = "post", "Post announcements (asked when first needed)"

    state = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    scopes = ArrayField(models.CharField(max_length=120))
    code_verifier_encrypted = models.TextField()
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="gc_consent_created_idx")]

    def __str__(self) -> str:
        return f"consent for {self.user} ({self.purpose})"


class SyncedCourse(TimeStampedModel):
    """A Google Classroom course a connection syncs, the EduPath course it lands in, and how its last sync went."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not synced yet"
        OK = "ok", "Synced"
        FAILED = "failed", "Last sync failed"
        REMOVED = "removed", "No longer in Classroom"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="courses")
    google_course_id = models.CharField(max_length=64)
    course = models.ForeignKey(Course, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    name = models.CharField(max_length=200)
    google_state = models.CharField(max_length=24, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    # What the last sync found and wrote: {"students", "teachers", "items", "submissions", "events", "written"}.
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["connection", "name"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "google_course_id"], name="gc_synced_course_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Fingerprint(models.Model):
    """The hash of a Google record as the connector last wrote it for one course. A record whose hash is unchanged
    is skipped, so a sync with nothing changed writes nothing. Submissions today (the one resource of thousands of
    records per course); the few teaching rows are compared field by field instead (classroom.external)."""

    class Kind(models.TextChoices):
        SUBMISSION = "submission"

    synced_course = models.ForeignKey(SyncedCourse, on_delete=models.CASCADE, related_name="fingerprints")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    google_id = models.CharField(max_length=128)
    digest = models.CharField(max_length=32)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["synced_course", "kind", "google_id"], name="gc_fingerprint_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.google_id}"


class PostedSummary(models.Model):
    """A class summary a teacher posted to the Classroom course as a draft announcement: counts only, no names."""

    synced_course = models.ForeignKey(SyncedCourse, on_delete=models.CASCADE, related_name="posts")
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    posted_at = models.DateTimeField()
    text = models.TextField()
    google_announcement_id = models.CharField(max_length=64)
    google_state = models.CharField(max_length=16)

    class Meta:
        ordering = ["-posted_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(google_announcement_id=""), name="gc_posted_has_google_id"),
        ]

    def __str__(self) -> str:
        return f"summary of {self.synced_course} at {self.posted_at:%Y-%m-%d %H:%M}"
