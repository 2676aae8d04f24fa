"""The learning-event store and its rollups.

LearningEvent is append-only and partitioned by month on `occurred_at` (docs/decisions/0004-event-store.md): the
table is created by raw SQL in the migration, Django only reads and describes it. Rollups are ordinary tables kept
current by upserts in the same transaction as the events they count.
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class Action(models.TextChoices):
    """What a learner did. A controlled vocabulary: unknown actions are refused at the edge."""

    SESSION_START = "session_start"
    SESSION_END = "session_end"
    PAGE_VIEW = "page_view"
    MATERIAL_VIEW = "material_view"
    MATERIAL_COMPLETE = "material_complete"
    LESSON_START = "lesson_start"
    LESSON_COMPLETE = "lesson_complete"
    MODULE_COMPLETE = "module_complete"
    COURSE_START = "course_start"
    COURSE_COMPLETE = "course_complete"
    VIDEO_PLAY = "video_play"
    VIDEO_PAUSE = "video_pause"
    VIDEO_COMPLETE = "video_complete"
    QUIZ_ATTEMPT = "quiz_attempt"
    QUIZ_SUBMIT = "quiz_submit"
    ASSIGNMENT_SUBMIT = "assignment_submit"
    SEARCH_QUERY = "search_query"
    AI_MESSAGE_SENT = "ai_message_sent"
    AI_MESSAGE_RECEIVED = "ai_message_received"
    AI_FEEDBACK_RATED = "ai_feedback_rated"
    # A teacher handed a student's work back / gave it a grade (a sync source reports them: Google Classroom).
    WORK_RETURNED = "work_returned"
    WORK_GRADED = "work_graded"


# Actions that count an item as viewed / completed in the rollups.
VIEW_ACTIONS = frozenset(
    {Action.MATERIAL_VIEW, Action.PAGE_VIEW, Action.LESSON_START, Action.VIDEO_PLAY, Action.QUIZ_ATTEMPT}
)
COMPLETE_ACTIONS = frozenset(
    {
        Action.MATERIAL_COMPLETE,
        Action.LESSON_COMPLETE,
        Action.VIDEO_COMPLETE,
        Action.QUIZ_SUBMIT,
        Action.ASSIGNMENT_SUBMIT,
        Action.MODULE_COMPLETE,
        Action.COURSE_COMPLETE,
    }
)

# Actions that hand in work: at an assignment or quiz, they record its submission (classroom's, through
# classroom.services.submissions_record_from_events).
SUBMIT_ACTIONS = frozenset({Action.QUIZ_SUBMIT, Action.ASSIGNMENT_SUBMIT})


class Source(models.TextChoices):
    API = "api"
    IMPORT = "import"
    SYNC = "sync"


class LearningEvent(models.Model):
    """One thing a learner did. Never updated; dropped a month at a time by retention."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField()
    organization = models.ForeignKey("accounts.Organization", on_delete=models.DO_NOTHING, db_constraint=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    course = models.ForeignKey(
        "classroom.Course", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    item = models.ForeignKey(
        "classroom.LearningItem", on_delete=models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    resource_type = models.CharField(max_length=32, blank=True, default="")
    resource_id = models.CharField(max_length=128, blank=True, default="")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    duration_seconds = models.IntegerField(null=True)
    score_raw = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    score_max = models.DecimalField(max_digits=9, decimal_places=2, null=True)
    score_scaled = models.DecimalField(max_digits=5, decimal_places=4, null=True)
    attempts = models.IntegerField(null=True)
    session_id = models.CharField(max_length=64, blank=True, default="")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    metadata = models.JSONField(default=dict)

    class Meta:
        managed = False  # partitioned table, created by raw SQL in migration 0001
        db_table = "analytics_learningevent"
        ordering = ["occurred_at"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id} at {self.occurred_at:%Y-%m-%d %H:%M}"


class EventKey(models.Model):
    """Every event id ever accepted. A partitioned table cannot hold a unique index on event_id alone (it must
    include the partition key), so idempotency is enforced here: an id already present is a duplicate."""

    event_id = models.UUIDField(primary_key=True)
    occurred_at = models.DateTimeField()

    class Meta:
        db_table = "analytics_eventkey"

    def __str__(self) -> str:
        return str(self.event_id)


class DeadLetterEvent(models.Model):
    """An accepted event that could not be stored as a learning event (e.g. its item is unknown). Kept with the
    reason until `manage.py replay_dead_letters` stores it or an operator discards it."""

    event_id = models.UUIDField(unique=True)
    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    actor_id = models.BigIntegerField()
    reason = models.CharField(max_length=200)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    replayed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            # "what is still waiting" — the admin's default view and the replay command's work list
            models.Index(
                fields=["received_at"], condition=Q(replayed_at__isnull=True), name="analytics_dlq_pending_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id}: {self.reason}"


# Rollups are derived data, rebuilt from events at will; their references were checked when the events were
# ingested. So no foreign-key constraints (three lookups per row at commit) and no single-column indexes: reads go
# through the composite unique and (course, day) indexes, and dropping the others cut the rebuild of one OULAD month
# from 31 s to 23 s. Deleting a person, course or item still removes their rollup rows (Django's
# cascade); for an item or a course that scans the item-day table, which is rare enough to accept.


class StudentDailyRollup(models.Model):
    """Per student x course x local day of the course (organisation's day for events outside a course)."""

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="+", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    course = models.ForeignKey(
        "classroom.Course", null=True, related_name="+", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    day = models.DateField()
    events = models.IntegerField(default=0)
    active_seconds = models.BigIntegerField(default=0)
    items_viewed = models.IntegerField(default=0)
    items_completed = models.IntegerField(default=0)
    attempts = models.IntegerField(default=0)
    score_sum = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    score_count = models.IntegerField(default=0)
    xp = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["student", "course", "day"], nulls_distinct=False, name="analytics_student_day_unique"
            )
        ]
        indexes = [
            # course dashboards: one course over a date range
            models.Index(fields=["course", "day"], name="analytics_sday_course_day_idx"),
            # rebuilds and retention (every row of a range of days), and any set of courses over a range of days:
            # the course list is checked inside the index, so only its rows are fetched from the table. Day first
            # because the planner favours this index for day ranges (rows are stored roughly in day order), and
            # with (day) alone it fetched and discarded every other course's rows (course 12 of the 10 M-event
            # bench over 30 days: 38 240 rows fetched for 4 165 kept, 14 ms; 3 ms with course_id in the index)
            models.Index(fields=["day", "course"], name="analytics_sday_day_course_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}/{self.course_id}/{self.day}"


class StudentItemDay(models.Model):
    """Which items a student viewed / completed on a day: makes 'distinct items' countable incrementally."""

    class Kind(models.TextChoices):
        VIEWED = "viewed"
        COMPLETED = "completed"

    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, related_name="+", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    course = models.ForeignKey(
        "classroom.Course", null=True, related_name="+", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    item = models.ForeignKey(
        "classroom.LearningItem", related_name="+", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    day = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        constraints = [
            # Day first: it also serves rebuilds and retention (every row of a range of days), and rows arrive in
            # day order, so inserts land at the right edge of the index instead of all over it.
            models.UniqueConstraint(fields=["day", "student", "item", "kind"], name="analytics_student_item_day_unique")
        ]
        indexes = [
            # class progress (dashboards.selectors.class_progress): the distinct items each enrolled student of a
            # class has completed, ever. Partial, so only completion rows (about one in nine) pay for it at
            # ingestion; without it that read was a parallel scan of the whole table (460 ms at 8.65 M rows).
            models.Index(
                fields=["course", "student", "item"],
                condition=Q(kind="completed"),
                name="analytics_itemday_done_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.student_id}/{self.item_id}/{self.day}/{self.kind}"


class CourseDailyRollup(models.Model):
    """Per course x local day."""

    course = models.ForeignKey(
        "classroom.Course", related_name="+", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )
    day = models.DateField()
    active_students = models.IntegerField(default=0)
    events = models.IntegerField(default=0)
    completions = models.IntegerField(default=0)
    score_sum = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    score_count = models.IntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "day"], name="analytics_course_day_unique")]
        # rebuilds and retention: every row of a range of days
        indexes = [models.Index(fields=["day"], name="analytics_cday_day_idx")]

    def __str__(self) -> str:
        return f"{self.course_id}/{self.day}"


class RollupCheckpoint(models.Model):
    """How far a full recompute of one rollup has got (Zulip's FillState): a rebuild resumes after `done_through`."""

    name = models.CharField(max_length=64, unique=True)
    started_from = models.DateField(null=True, blank=True)
    done_through = models.DateField(null=True, blank=True)
    finished = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} through {self.done_through}"


class RequestMetricMinute(models.Model):
    """Requests of one minute to one URL pattern by the users of one organisation (empty: anonymous requests,
    platform operators outside any organisation): count, server errors, answers of 400 and above by status, total
    time and a latency histogram (counts per analytics.request_metrics.BUCKETS_MS bucket). Written by the minute
    flush; read by system metrics and /metrics, an organisation's administrator seeing only its rows."""

    minute = models.DateTimeField()
    # Derived data, like the rollups: no constraint (a flush must not fail for an organisation deleted meanwhile);
    # deleting an organisation through Django still removes its rows.
    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    method = models.CharField(max_length=8)
    route = models.CharField(max_length=200)
    count = models.PositiveIntegerField()
    errors = models.PositiveIntegerField(default=0)
    total_ms = models.FloatField(default=0)
    buckets = ArrayField(models.PositiveIntegerField())
    statuses = models.JSONField(default=dict, blank=True, help_text='Answers of 400 and above by status: {"404": 3}.')

    class Meta:
        ordering = ["-minute"]
        constraints = [
            # minute first: reads are "the last N minutes" (of one organisation)
            models.UniqueConstraint(
                fields=["minute", "organization", "method", "route"],
                nulls_distinct=False,
                name="analytics_request_minute_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.method} {self.route}: {self.count}"
