"""XP rules and ledger, per-period XP totals, achievements. Everything here is derived from stored learning events
by gamification.services; staff edit the rules and achievements in Django admin."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from analytics.models import Action
from classroom.models import LearningItem
from core.models import TimeStampedModel


class XpRule(TimeStampedModel):
    """XP for one action (optionally only on items of one kind), for one organisation or (organisation empty) for
    every organisation without a rule of its own for that action and kind. The most specific active rule wins:
    own organisation before global, a rule for the item's kind before one for any kind."""

    organization = models.ForeignKey(
        "accounts.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="xp_rules"
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    item_kind = models.CharField(
        max_length=16, choices=LearningItem.Kind.choices, blank=True, default="", help_text="Empty: any item or none."
    )
    points = models.PositiveIntegerField(help_text="XP for one event.")
    daily_item_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this much XP per student, item and day from this rule (repeated views do not farm XP). "
        "Empty: no cap.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization_id", "action", "item_kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "action", "item_kind"],
                nulls_distinct=False,
                name="gamification_rule_unique",
                violation_error_message="There is already a rule for this organisation, action and item kind.",
            ),
            models.CheckConstraint(
                condition=Q(daily_item_cap__isnull=True) | Q(daily_item_cap__gte=models.F("points")),
                name="gamification_rule_cap_at_least_points",
                violation_error_message="The daily cap per item must be at least the points of one event.",
            ),
        ]

    def __str__(self) -> str:
        scope = self.organization.name if self.organization else "all organisations"
        kind = f" on {self.item_kind}" if self.item_kind else ""
        return f"{self.action}{kind}: {self.points} XP ({scope})"


class ScoreBonus(models.Model):
    """Extra XP when a scored event reaches `min_percent`; only the highest band reached counts."""

    rule = models.ForeignKey(XpRule, on_delete=models.CASCADE, related_name="score_bonuses")
    min_percent = models.DecimalField(max_digits=5, decimal_places=2)
    points = models.PositiveIntegerField()

    class Meta:
        ordering = ["rule", "min_percent"]
        verbose_name_plural = "score bonuses"  # Django's default adds an "s": "score bonuss"
        constraints = [
            models.UniqueConstraint(fields=["rule", "min_percent"], name="gamification_bonus_band_unique"),
            models.CheckConstraint(
                condition=Q(min_percent__gte=0, min_percent__lte=100),
                name="gamification_bonus_percent_range",
                violation_error_message="A score band starts between 0 and 100 percent.",
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.points} XP from {self.min_percent} %"


class XpAward(models.Model):
    """The append-only XP ledger: one row per event that matched a rule (amount 0 when a cap absorbed it), so
    processing an event again finds its row and awards nothing."""

    event_id = models.UUIDField(unique=True)
    # A ledger of millions of rows: no single-column index per reference. Reads go through (student, day, item);
    # deleting an organisation, course, item or rule scans the ledger once, which is rare enough to accept.
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    course = models.ForeignKey(
        "classroom.Course", null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    item = models.ForeignKey(
        "classroom.LearningItem", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    rule = models.ForeignKey(XpRule, null=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    amount = models.IntegerField()
    occurred_at = models.DateTimeField()
    day = models.DateField(help_text="The day of the event in the organisation's time zone (streaks, leaderboards).")
    awarded_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            # a student's XP trend and streak (their awards over a range of days), and the daily cap per item
            models.Index(fields=["student", "day", "item"], name="gamification_award_student_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} XP to {self.student_id} for {self.event_id}"


class Period(models.TextChoices):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"


class XpTotal(models.Model):
    """A student's XP in one course (or, course empty, the whole organisation) over one day, ISO week, calendar
    month or all time, in the organisation's time zone. Kept current by the award statement; leaderboards read it
    through (organization, course, period, period_start, xp)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey("classroom.Course", null=True, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=8, choices=Period.choices)
    period_start = models.DateField()
    xp = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "course", "period", "period_start", "student"],
                nulls_distinct=False,
                name="gamification_total_unique",
            )
        ]
        indexes = [
            # leaderboards: the top of one scope and period, and counting who is ahead of a student
            models.Index(
                "organization",
                "course",
                "period",
                "period_start",
                models.F("xp").desc(),
                "student",
                name="gamification_total_rank_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.period} {self.period_start}: {self.xp}"


class Achievement(TimeStampedModel):
    class Kind(models.TextChoices):
        FIRST_COMPLETION = "first_completion", "First completion"
        STREAK_DAYS = "streak_days", "Streak of N days"
        PERFECT_QUIZ = "perfect_quiz", "Perfect quiz score"
        MODULE_COMPLETE = "module_complete", "Every item of a module completed"
        LEVEL_REACHED = "level_reached", "Level N reached"
        XP_TOTAL = "xp_total", "N XP earned"

    NEEDS_THRESHOLD = frozenset({Kind.STREAK_DAYS, Kind.LEVEL_REACHED, Kind.XP_TOTAL})

    organization = models.ForeignKey(
        "accounts.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="achievements",
        help_text="Empty: offered in every organisation.",
    )
    code = models.SlugField(max_length=64)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="N for streak, level and XP achievements; empty for the others."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "threshold", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], nulls_distinct=False, name="gamification_achievement_code_unique"
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=["streak_days", "level_reached", "xp_total"]) & Q(threshold__gte=1))
                | (~Q(kind__in=["streak_days", "level_reached", "xp_total"]) & Q(threshold__isnull=True)),
                name="gamification_achievement_threshold_by_kind",
                violation_error_message="Streak, level and XP achievements need a threshold of at least 1; the "
                "others take none.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.kind in self.NEEDS_THRESHOLD and not self.threshold:
            raise ValidationError({"threshold": "Required (at least 1) for this kind of achievement."})
        if self.kind not in self.NEEDS_THRESHOLD and self.threshold is not None:
            raise ValidationError({"threshold": "This kind of achievement takes no threshold."})


class StudentAchievement(models.Model):
    """An achievement earned, once, at `earned_at`."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="achievements")
    achievement = models.ForeignKey(Achievement, on_delete=models.CASCADE, related_name="earned_by")
    earned_at = models.DateTimeField()

    class Meta:
        ordering = ["-earned_at"]
        constraints = [
            models.UniqueConstraint(fields=["student", "achievement"], name="gamification_earned_once"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.achievement_id} at {self.earned_at:%Y-%m-%d}"
