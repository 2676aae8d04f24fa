"""Trained model versions and the predictions made with them (or, without an active version, by the rules)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from classroom.models import Enrollment


class ModelVersion(models.Model):
    """One training run's result: what it learned from, how well it did under cross-validation grouped by course,
    and whether it became the active version (at most one per organisation; None: trained across organisations)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired (was active)"
        REJECTED = "rejected", "Rejected by the acceptance gate"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="risk_models"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    trained_as_of = models.DateTimeField(help_text="Only courses that ended before this moment were learned from.")
    algorithm = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    decision = models.CharField(max_length=500, help_text="Why it was activated or rejected.")
    features = models.JSONField(help_text="Feature names, in the model's column order.")
    hyperparameters = models.JSONField(default=dict)
    library_versions = models.JSONField(default=dict)
    training = models.JSONField(default=dict, help_text="Training set: enrolments, samples, courses, label shares.")
    metrics = models.JSONField(
        default=dict,
        help_text="Cross-validated ROC AUC, PR AUC, Brier score, calibration curve, MCC at the threshold, AUC per "
        "course and per stage, feature importance, the baseline's figures.",
    )
    threshold_medium = models.FloatField()
    threshold_high = models.FloatField()
    # The fitted model in skops format (loads without executing code), never pickle.
    artifact = models.BinaryField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(status="active"), name="risk_one_active_model_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"risk model {self.pk} ({self.algorithm}, {self.status})"


class Prediction(models.Model):
    """A student enrolment's risk as of a moment: by the active model version, or by the transparent rules when
    there is none (`model_version` empty). Kept as history: one row per enrolment and `as_of`."""

    class Level(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        INSUFFICIENT = "insufficient", "Not enough data yet"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="risk_predictions")
    # Denormalised from the enrolment for the class and student lists (both indexed below).
    course = models.ForeignKey("classroom.Course", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateTimeField()
    probability = models.FloatField(null=True, blank=True, help_text="Of ending as fail or withdrawn; rules: empty.")
    level = models.CharField(max_length=16, choices=Level.choices)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="predictions"
    )
    # [{"feature", "text", "value", "class_value", "effect"}], strongest first; for rules, the rules that fired.
    factors = models.JSONField(default=list)
    features = models.JSONField(default=dict, help_text="The feature values the prediction was made from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "as_of"], name="risk_prediction_one_per_moment"),
        ]
        indexes = [
            models.Index(fields=["course", "-as_of"], name="risk_pred_course_idx"),
            models.Index(fields=["student", "-as_of"], name="risk_pred_student_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} in {self.course_id} as of {self.as_of:%Y-%m-%d}: {self.level}"

    @property
    def by_rules(self) -> bool:
        return self.model_version_id is None
