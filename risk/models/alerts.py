"""What teachers do with predictions: alerts raised on high risk, their verdicts on predictions, and the
interventions they log (measured afterwards by risk.selectors.reengagement)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from classroom.models import Enrollment
from risk.models.predictions import Prediction


class Alert(models.Model):
    """A student of a class flagged for their teachers: raised when a prediction is high (or a rule fired), then
    acknowledged and resolved by a teacher. One open-or-acknowledged alert per student and class, so nightly scoring
    does not repeat it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey("classroom.Course", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="risk_alerts")
    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(max_length=16, choices=Prediction.Level.choices)
    probability = models.FloatField(null=True, blank=True, help_text="The model's; empty when the rules flagged.")
    # The prediction's factors when the alert was raised ([{"feature", "text", "value", "class_value", "effect"}]).
    factors = models.JSONField(default=list)
    suggested_action = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The "no repeat each night" rule, held by the database even when two scoring runs overlap.
            models.UniqueConstraint(
                fields=["student", "course"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="risk_alert_one_live_per_student_course",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(acknowledged_at__isnull=False), name="risk_alert_acknowledged_when"
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(resolved_at__isnull=False), name="risk_alert_resolved_when"
            ),
        ]
        indexes = [
            # The class's alert list and the alerts API's course/status filters.
            models.Index(fields=["course", "status", "-created_at"], name="risk_alert_course_idx"),
        ]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.student_id} in {self.course_id} ({self.level}, {self.status})"


class PredictionFeedback(models.Model):
    """A teacher's verdict on one prediction (Moodle's set); one per prediction and teacher, changed in place."""

    class Verdict(models.TextChoices):
        USEFUL = "useful", "Useful"
        NOT_USEFUL = "not_useful", "Not useful"
        INCORRECTLY_FLAGGED = "incorrectly_flagged", "Incorrectly flagged"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    prediction = models.ForeignKey(Prediction, on_delete=models.CASCADE, related_name="feedback")
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=32, choices=Verdict.choices)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["prediction", "teacher"], name="risk_feedback_one_per_teacher"),
        ]

    def __str__(self) -> str:
        return f"{self.teacher_id} on prediction {self.prediction_id}: {self.verdict}"


class Intervention(models.Model):
    """What a teacher did about an alert. A message is sent (and logged) by the messaging app and linked here."""

    class Kind(models.TextChoices):
        MESSAGE = "message", "Message"
        MEETING = "meeting", "Meeting"
        EXTENSION = "extension", "Extension"
        OTHER = "other", "Other"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="interventions")
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    note = models.TextField(blank=True, default="")
    message = models.ForeignKey("messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Re-engagement: the interventions of some courses over a period (through the alert's course).
            models.Index(fields=["created_at"], name="risk_intervention_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on alert {self.alert_id} by {self.teacher_id}"
