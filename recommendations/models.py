"""What the recommendation engine suggests to a student and what happened to it; students' progress along learning
paths and their goals; the governed use of Gemini (settings per organisation and a record of every call)."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Category(models.TextChoices):
    COURSE = "course", "Course"
    RESOURCE = "resource", "Resource"
    ACTIVITY = "activity", "Activity"
    SKILL = "skill", "Skill"


class Recommendation(models.Model):
    """One next step suggested to a student, with the facts that produced it.

    `signals` holds those facts as data ([{"kind": "class_popularity", "opened": 8, "classmates": 10}, ...]); the
    reasoning is written from them, so a test can recompute every figure it names. A refresh supersedes the
    student's active recommendations and writes new ones; dismissed ones stay, so the item is not suggested again
    for RECOMMENDATIONS_DISMISS_DAYS."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISMISSED = "dismissed", "Dismissed"
        SUPERSEDED = "superseded", "Superseded"
        COMPLETED = "completed", "Completed"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recommendations")
    course = models.ForeignKey("classroom.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    item = models.ForeignKey(
        "classroom.LearningItem", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    module = models.ForeignKey("classroom.Module", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    category = models.CharField(max_length=16, choices=Category.choices)
    kind = models.CharField(max_length=16, blank=True, default="", help_text="The item's kind (video, quiz, ...).")
    title = models.CharField(max_length=300)
    description = models.CharField(max_length=500, blank=True, default="")
    rank = models.PositiveSmallIntegerField()
    relevance_score = models.FloatField()
    confidence = models.FloatField()
    reasoning = models.TextField()
    signals = models.JSONField(default=list)
    prerequisites = models.JSONField(default=list, blank=True)
    expected_outcomes = models.JSONField(default=list, blank=True)
    difficulty = models.CharField(max_length=16, blank=True, default="")
    estimated_minutes = models.PositiveIntegerField(null=True, blank=True)
    estimated_time_source = models.CharField(
        max_length=16, blank=True, default="", help_text="'item' (set on the item) or 'classmates' (their median)."
    )
    tags = models.JSONField(default=list, blank=True)
    strategy = models.CharField(max_length=32, help_text="The engine and its version that produced it.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    shown_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["student", "rank", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(relevance_score__gte=0) & Q(relevance_score__lte=1), name="recommendation_relevance_0_1"
            ),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1), name="recommendation_conf_0_1"
            ),
            models.CheckConstraint(
                condition=Q(item__isnull=False) | Q(module__isnull=False) | Q(course__isnull=False),
                name="recommendation_names_something",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | Q(dismissed_at__isnull=False), name="recommendation_dismissed_when"
            ),
        ]
        indexes = [
            models.Index(fields=["student", "rank"], condition=Q(status="active"), name="rec_active_idx"),
            models.Index(fields=["student", "item", "-dismissed_at"], name="rec_student_item_idx"),
            models.Index(fields=["course", "-created_at"], name="rec_course_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.title}"


class RecommendationFeedback(models.Model):
    """A student's explicit verdict on one recommendation (seed 000); giving it again updates it."""

    class Verdict(models.TextChoices):
        HELPFUL = "helpful", "Helpful"
        NOT_HELPFUL = "not_helpful", "Not helpful"
        IRRELEVANT = "irrelevant", "Irrelevant"

    recommendation = models.OneToOneField(Recommendation, on_delete=models.CASCADE, related_name="feedback")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    helpful = models.BooleanField(null=True, blank=True)
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True, default="")
    comments = models.TextField(blank=True, default="")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | (Q(rating__gte=1) & Q(rating__lte=5)),
                name="recommendation_rating_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"feedback on {self.recommendation_id}"


class PathProgress(models.Model):
    """A student's progress along a learning path (seed 000 `user_progress`), recomputed from their events."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="path_progress")
    path = models.ForeignKey("classroom.LearningPath", on_delete=models.CASCADE, related_name="progress")
    steps_total = models.PositiveIntegerField(default=0)
    steps_completed = models.PositiveIntegerField(default=0)
    progress = models.DecimalField(max_digits=5, decimal_places=2, default=0, help_text="Percent of steps completed.")
    current_step = models.ForeignKey(
        "classroom.LearningPathStep", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    time_spent_seconds = models.BigIntegerField(default=0)
    last_accessed = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["student", "path"]
        constraints = [
            models.UniqueConstraint(fields=["student", "path"], name="recommendation_path_progress_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} on {self.path_id}: {self.progress}%"


class Goal(models.Model):
    """A goal a student sets: finish a path, complete a course by a date, or a weekly amount of active minutes or XP.
    Its milestones are checked from the student's events."""

    class Kind(models.TextChoices):
        PATH = "path", "Finish a learning path"
        COURSE_COMPLETION = "course_completion", "Complete a course by a date"
        WEEKLY_MINUTES = "weekly_minutes", "Active minutes per week"
        WEEKLY_XP = "weekly_xp", "XP per week"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ACHIEVED = "achieved", "Achieved"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="goals")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    path = models.ForeignKey(
        "classroom.LearningPath", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    course = models.ForeignKey("classroom.Course", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    target = models.PositiveIntegerField(
        null=True, blank=True, help_text="Minutes or XP per week (weekly goals); percent of items (course goals)."
    )
    due_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    progress = models.DecimalField(max_digits=5, decimal_places=2, default=0, help_text="Percent towards the target.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    achieved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["student", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(kind="path") | Q(path__isnull=False), name="recommendation_goal_path"),
            models.CheckConstraint(
                condition=~Q(kind="course_completion") | (Q(course__isnull=False) & Q(due_date__isnull=False)),
                name="recommendation_goal_course",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["weekly_minutes", "weekly_xp"]) | Q(target__gt=0),
                name="recommendation_goal_weekly_target",
            ),
        ]
        indexes = [models.Index(fields=["student", "status"], name="rec_goal_student_idx")]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.get_kind_display()}"


class GoalMilestone(models.Model):
    """A step towards a goal (25/50/75/100 %), per week for weekly goals (`period`, e.g. "2026-W49"); reached once."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="milestones")
    period = models.CharField(max_length=10, blank=True, default="")
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the goal.")
    reached_at = models.DateTimeField()

    class Meta:
        ordering = ["goal", "period", "threshold"]
        constraints = [
            models.UniqueConstraint(fields=["goal", "period", "threshold"], name="recommendation_milestone_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.goal_id} {self.period} {self.threshold}%"


class AssistantSettings(models.Model):
    """An organisation's use of Gemini: off unless turned on here and GEMINI_API_KEY is set."""

    organization = models.OneToOneField("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=False)
    model = models.CharField(max_length=64, default="gemini-2.5-flash")
    daily_call_budget = models.PositiveIntegerField(default=500, help_text="Calls to Gemini per day (UTC).")
    log_prompts = models.BooleanField(
        default=False, help_text="Keep the text of each prompt in its call record (it never names the student)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "assistant settings"

    def __str__(self) -> str:
        return f"assistant settings of {self.organization_id}"


class AICall(models.Model):
    """One request to the language model (or one answered from the cache, or refused by the budget), without the
    prompt unless the organisation keeps prompts. `subject` is whom it was about: kept here, never sent."""

    class Purpose(models.TextChoices):
        STUDENT_EXPLANATION = "student_explanation", "Explanation of a student's next steps"
        INTERVENTION_IDEAS = "intervention_ideas", "Intervention ideas for an alert"
        CHECK = "check", "Operator check"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        CACHED = "cached", "Answered from the cache"
        BUDGET = "budget", "Daily budget exhausted"
        TIMEOUT = "timeout", "Timeout"
        RATE_LIMITED = "rate_limited", "Rate limited"
        ERROR = "error", "Error"
        REFUSED = "refused", "Refused (safety)"
        INVALID = "invalid", "Invalid answer"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    model = models.CharField(max_length=64)
    prompt_hash = models.CharField(max_length=64)
    prompt_text = models.TextField(blank=True, default="")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    error = models.CharField(max_length=300, blank=True, default="")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    discarded_items = models.PositiveIntegerField(default=0, help_text="Item ids in the answer that were not sent.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "created_at"], name="rec_aicall_org_idx")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.outcome}"


class RankerVersion(models.Model):
    """A trained next-step ranker of one organisation (recommendations.ranker): learned from what its students went
    on to open, on data before `trained_until`; stored with skops, never pickle. The newest one is used."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()
    trained_until = models.DateTimeField(help_text="Only views before this moment were used (features and labels).")
    courses = models.JSONField(default=list, help_text="Codes of the classes it learned from.")
    samples = models.PositiveIntegerField()
    positives = models.PositiveIntegerField()
    features = models.JSONField(default=list)
    parameters = models.JSONField(default=dict)
    library_versions = models.JSONField(default=dict)
    seconds = models.FloatField()
    artifact = models.BinaryField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="rec_ranker_org_idx")]

    def __str__(self) -> str:
        return f"ranker {self.pk} of {self.organization_id} ({self.created_at:%Y-%m-%d})"
