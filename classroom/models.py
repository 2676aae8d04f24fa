"""The teaching structure: courses (classes), who is enrolled, what they contain, and what students hand in."""

from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F, Q

from accounts.models import Organization
from accounts.validators import validate_time_zone
from core.models import TimeStampedModel


class ExternalIdMixin(models.Model):
    """Where a row came from when a sync source or importer created it (e.g. "google_classroom", "oulad")."""

    external_source = models.CharField(max_length=32, blank=True, default="")
    external_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        abstract = True


class Course(ExternalIdMixin, TimeStampedModel):
    """A class: one group of students taught together, in one organisation."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="courses")
    title = models.CharField(max_length=200)
    code = models.CharField(max_length=64)
    subject = models.CharField(max_length=100, blank=True, default="")
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    # Days of a course are counted in its own time zone (a "day" of activity in rollups is a local day).
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["organization", "code"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="classroom_course_code_unique_per_org"),
            models.UniqueConstraint(
                fields=["organization", "external_source", "external_id"],
                condition=~Q(external_id=""),
                name="classroom_course_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(start_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="classroom_course_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"


def active_student_filter(prefix: str = "") -> Q:
    """The one definition of an enrolment that counts a student in a class now: a student enrolment that is active
    (not dropped, not completed). `prefix` reaches it through a relation, e.g. "enrollments__"."""
    return Q(**{f"{prefix}role": "student", f"{prefix}status": "active"})


class EnrollmentQuerySet(models.QuerySet["Enrollment"]):
    def active_students(self) -> "EnrollmentQuerySet":
        """Enrolments of students actively in the class (active_student_filter)."""
        return self.filter(active_student_filter())


class Enrollment(TimeStampedModel):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        TEACHER = "teacher", "Teacher"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DROPPED = "dropped", "Dropped"
        COMPLETED = "completed", "Completed"

    class FinalResult(models.TextChoices):
        PASS = "pass", "Pass"
        DISTINCTION = "distinction", "Distinction"
        FAIL = "fail", "Fail"
        WITHDRAWN = "withdrawn", "Withdrawn"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField()
    # When the enrolment stopped being active (dropped or completed); empty while active.
    ended_at = models.DateTimeField(null=True, blank=True)
    # The outcome the at-risk model learns from ("at risk" = will end as fail or withdrawn); blank until known.
    final_result = models.CharField(max_length=16, choices=FinalResult.choices, blank=True, default="")
    result_at = models.DateTimeField(null=True, blank=True, help_text="When the result was reached.")

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["course", "role", "user"]
        constraints = [
            # A person holds at most one active enrolment in a course; history rows (dropped, completed) may repeat
            # when someone re-enrols.
            models.UniqueConstraint(
                fields=["user", "course"], condition=Q(status="active"), name="classroom_enrollment_one_active"
            ),
            models.CheckConstraint(
                condition=(Q(status="active") & Q(ended_at__isnull=True))
                | (~Q(status="active") & Q(ended_at__isnull=False)),
                name="classroom_enrollment_ended_iff_not_active",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("enrolled_at")),
                name="classroom_enrollment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(final_result="") | Q(result_at__isnull=False),
                name="classroom_enrollment_result_dated",
                violation_error_message="A final result needs the date it was reached (result at).",
            ),
        ]
        indexes = [
            # Scoping: "courses this user teaches / attends" and "students of these courses".
            models.Index(fields=["user", "role", "status"], name="classroom_enr_user_role_idx"),
            models.Index(fields=["course", "role", "status"], name="classroom_enr_course_role_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.course} ({self.role}, {self.status})"


class Module(ExternalIdMixin, TimeStampedModel):
    """A unit of a course (a week, a chapter)."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["course", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="classroom_module_position_unique"),
        ]

    def __str__(self) -> str:
        return self.title


class Difficulty(models.TextChoices):
    BEGINNER = "beginner", "Beginner"
    INTERMEDIATE = "intermediate", "Intermediate"
    ADVANCED = "advanced", "Advanced"


class DifficultySource(models.TextChoices):
    SET = "set", "Set by a person"
    DERIVED = "derived", "Derived from data"


class LearningItem(ExternalIdMixin, TimeStampedModel):
    class Kind(models.TextChoices):
        LESSON = "lesson", "Lesson"
        RESOURCE = "resource", "Resource"
        VIDEO = "video", "Video"
        QUIZ = "quiz", "Quiz"
        ASSIGNMENT = "assignment", "Assignment"

    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    # Graded items (quizzes, assignments) have a maximum; reading material has none.
    max_points = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    estimated_minutes = models.PositiveIntegerField(null=True, blank=True)

    # What recommendations need to know of an item (seed 000: difficulty, skills, prerequisites, outcomes).
    difficulty = models.CharField(max_length=16, choices=Difficulty.choices, blank=True, default="")
    # Who gave the difficulty: a person ("set", never overwritten by derivation) or the data ("derived" by
    # recommendations.difficulty from classmates' scores and time); blank while there is none.
    difficulty_source = models.CharField(
        max_length=16, choices=DifficultySource.choices, blank=True, default="", editable=False
    )
    tags = ArrayField(
        models.CharField(max_length=64), default=list, blank=True, help_text="Skills and topics it covers."
    )
    prerequisites: "models.ManyToManyField[LearningItem, Any]" = models.ManyToManyField(
        "self",
        symmetrical=False,
        related_name="unlocks",
        blank=True,
        help_text="Items of the same organisation that should come first.",
    )
    prerequisite_skills = ArrayField(
        models.CharField(max_length=64), default=list, blank=True, help_text="Skills a learner should have first."
    )
    expected_outcomes = ArrayField(
        models.CharField(max_length=300), default=list, blank=True, help_text="What a learner can do afterwards."
    )
    # The source system's own type of the item (OULAD's vle activity_type: oucontent, resource, forumng, ...), kept
    # beside `kind`, which folds those types into ours.
    activity_type = models.CharField(max_length=32, blank=True, default="")
    # The weeks of the course in which the item is planned to be used (OULAD's week_from / week_to).
    week_from = models.PositiveSmallIntegerField(null=True, blank=True)
    week_to = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["module", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_points__isnull=True) | Q(max_points__gt=0), name="classroom_item_max_points_positive"
            ),
            models.CheckConstraint(
                condition=Q(week_from__isnull=True) | Q(week_to__isnull=True) | Q(week_to__gte=F("week_from")),
                name="classroom_item_weeks_in_order",
                violation_error_message="The last planned week (week to) must not be before the first (week from).",
            ),
            models.CheckConstraint(
                condition=Q(difficulty__in=["", *Difficulty.values]), name="classroom_item_difficulty_valid"
            ),
            # A difficulty says where it came from; none comes from nowhere.
            models.CheckConstraint(
                condition=(Q(difficulty="") & Q(difficulty_source=""))
                | (~Q(difficulty="") & Q(difficulty_source__in=DifficultySource.values)),
                name="classroom_item_difficulty_sourced",
            ),
            models.UniqueConstraint(
                fields=["module", "external_source", "external_id"],
                condition=~Q(external_id=""),
                name="classroom_item_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["module", "kind"], name="classroom_item_module_kind_idx"),
            # An integration names an item by its external id alone (the tracking API): found without the module.
            models.Index(fields=["external_id"], condition=~Q(external_id=""), name="classroom_item_external_id_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Submission(TimeStampedModel):
    """One attempt of a student at a graded item, or the record that it is missing or excused."""

    class State(models.TextChoices):
        ON_TIME = "on_time", "On time"
        LATE = "late", "Late"
        MISSING = "missing", "Missing"
        EXCUSED = "excused", "Excused"

    item = models.ForeignKey(LearningItem, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions")
    attempt = models.PositiveIntegerField(default=1)
    submitted_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices)
    score = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    # The maximum this attempt was graded against, copied from the item when graded, so the database itself can
    # hold the invariant score <= max_points (a check constraint cannot look into another table).
    max_points = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["item", "student", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["item", "student", "attempt"], name="classroom_submission_attempt_unique"),
            models.CheckConstraint(condition=Q(attempt__gte=1), name="classroom_submission_attempt_positive"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | (Q(max_points__isnull=False) & Q(score__gte=0)),
                name="classroom_submission_score_needs_max",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__lte=F("max_points")),
                name="classroom_submission_score_lte_max",
            ),
            # Handed-in work has a time; missing work has none.
            models.CheckConstraint(
                condition=(Q(state__in=["on_time", "late"]) & Q(submitted_at__isnull=False))
                | (Q(state="missing") & Q(submitted_at__isnull=True) & Q(score__isnull=True))
                | Q(state="excused"),
                name="classroom_submission_state_matches_time",
            ),
        ]
        indexes = [models.Index(fields=["student", "item"], name="classroom_sub_student_item_idx")]

    def __str__(self) -> str:
        return f"{self.student} → {self.item} #{self.attempt}"


class LearningPath(TimeStampedModel):
    """An ordered sequence of items; it may span several courses of one organisation."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="learning_paths")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    items: "models.ManyToManyField[LearningItem, LearningPathStep]" = models.ManyToManyField(
        LearningItem, through="LearningPathStep", related_name="paths"
    )

    class Meta:
        ordering = ["organization", "title"]

    def __str__(self) -> str:
        return self.title


class LearningPathStep(models.Model):
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE, related_name="steps")
    item = models.ForeignKey(LearningItem, on_delete=models.CASCADE, related_name="path_steps")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["path", "position"]
        constraints = [
            models.UniqueConstraint(fields=["path", "position"], name="classroom_path_step_position_unique"),
            models.UniqueConstraint(fields=["path", "item"], name="classroom_path_step_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.path} #{self.position}: {self.item}"
