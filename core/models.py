"""Shared abstract models, and the one record of background work (`Job`). No domain model lives here."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Job(models.Model):
    """One piece of background work someone asked for (a roster import; later training, report runs, syncs): what
    it is, how far it got and what came of it, for whoever asked and their organisation's administrators
    (`GET /api/v1/jobs/{id}`). Written through core.jobs only; the kind's own code says what `params` and `result`
    hold (core.jobs.job_kind_register).

    core imports no app: the organisation and the requester are referred to by name, not imported.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0 to 100.")
    message = models.CharField(max_length=500, blank=True, default="")
    # The job's input as its task reads it (e.g. the CSV of a roster import); never shown by the API.
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="core_job_progress_percent"),
            # A finished job has a finishing time; a queued or running one has none.
            models.CheckConstraint(
                condition=(Q(status__in=["succeeded", "failed"]) & Q(finished_at__isnull=False))
                | (Q(status__in=["queued", "running"]) & Q(finished_at__isnull=True)),
                name="core_job_finished_iff_done",
            ),
        ]
        indexes = [
            # An organisation's recent jobs (admin list, a later "jobs of my school" list).
            models.Index(fields=["organization", "-created_at"], name="core_job_org_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"
