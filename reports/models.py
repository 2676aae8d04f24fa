"""Reports: definitions (with a version per edit), their runs (a shared core Job each, and the file it wrote in
private storage), every download of a run's file, schedules (kept in step with django-celery-beat entries) and the
deliveries a schedule makes. Written through reports.services and reports.schedules only."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

# A version's fields that say what a report shows (a change to any of them is a new version).
CONTENT_FIELDS = ("dataset", "columns", "parameters", "row_filters", "grouping", "sort", "chart")


class Format(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"
    JSON = "json", "JSON"
    PDF = "pdf", "PDF"


class ReportDefinition(models.Model):
    """A saved report: a name and its owner; what it shows is its current ReportVersion."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private (only the owner)"
        SHARED = "shared", "Shared with the school's staff"

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_definitions")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    current_version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["organization", "visibility"], name="reports_def_org_visibility_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def version(self) -> "ReportVersion":
        return self.versions.get(number=self.current_version)


class ReportVersion(models.Model):
    """What a definition shows, as of one edit: a dataset of the metric catalogue (reports.datasets), the columns
    and their order, the dataset's parameters (as the API spells them), row filters, grouping, sort and chart. Never
    changed once written: an edit writes the next number, and a run names the version it ran."""

    definition = models.ForeignKey(ReportDefinition, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    dataset = models.CharField(max_length=64)
    columns = models.JSONField(default=list)  # column names, in order
    parameters = models.JSONField(default=dict)  # {"course": "12", "period": "30d"}: the metric's query
    row_filters = models.JSONField(default=dict)  # {"kind": "quiz"}: rows whose column equals the value
    grouping = models.CharField(max_length=64, blank=True, default="")  # a column: rows sorted and headed by it
    sort = models.JSONField(default=list)  # [{"column": "events", "descending": true}]
    chart = models.JSONField(null=True, blank=True)  # {"type": "line"|"bar", "x": column, "y": [columns]}
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["definition", "-number"]
        constraints = [models.UniqueConstraint(fields=["definition", "number"], name="reports_version_unique")]

    def __str__(self) -> str:
        return f"{self.definition} v{self.number}"

    def content(self) -> dict[str, Any]:
        """What the version shows, as a report body spells it (reports.specs.spec_from reads it back)."""
        return {name: getattr(self, name) for name in CONTENT_FIELDS} | {"grouping": self.grouping or None}


class ReportRun(models.Model):
    """One run of a definition's version in a format, with the permissions of `run_for`: its job (status,
    progress, message) and, once it succeeded, its file in private storage (REPORTS_STORAGE_DIR) until it expires."""

    definition = models.ForeignKey(ReportDefinition, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(ReportVersion, on_delete=models.CASCADE, related_name="runs")
    job = models.OneToOneField("core.Job", on_delete=models.CASCADE, related_name="report_run")
    format = models.CharField(max_length=8, choices=Format.choices)
    run_for = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    schedule = models.ForeignKey(
        "reports.ReportSchedule", on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    row_count = models.PositiveIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True, default="")  # in the private storage
    size_bytes = models.BigIntegerField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    file_removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["definition", "-created_at"], name="reports_run_def_created_idx"),
            models.Index(fields=["expires_at"], name="reports_run_expires_idx", condition=~Q(file_name="")),
        ]

    def __str__(self) -> str:
        return f"{self.definition} ({self.format}) #{self.pk}"


class ReportDownload(models.Model):
    """Who downloaded a run's file, when, and how (API, page, e-mailed link)."""

    run = models.ForeignKey(ReportRun, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    downloaded_at = models.DateTimeField(auto_now_add=True)
    via = models.CharField(max_length=16, default="api")

    class Meta:
        ordering = ["-downloaded_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user} downloaded {self.run} ({self.via})"


class ReportSchedule(models.Model):
    """When a definition runs by itself and to whom the file goes. Its django-celery-beat entry (`periodic_task`)
    is created, changed, disabled and deleted with it (reports.schedules)."""

    class Recurrence(models.TextChoices):
        DAILY = "daily", "Every day"
        WEEKDAYS = "weekdays", "Monday to Friday"
        WEEKLY = "weekly", "Weekly, on a day"
        MONTHLY = "monthly", "Monthly, on a day"
        CRON = "cron", "A cron expression"

    class RunAs(models.TextChoices):
        RECIPIENT = "recipient", "Each recipient (each gets only what they may see)"
        OWNER = "owner", "The owner (only to recipients who may see all of it)"

    class WhenEmpty(models.TextChoices):
        SEND = "send", "Send it anyway"
        SKIP = "skip", "Skip sending"

    definition = models.ForeignKey(ReportDefinition, on_delete=models.CASCADE, related_name="schedules")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    recurrence = models.CharField(max_length=16, choices=Recurrence.choices)
    weekday = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 Monday … 6 Sunday (weekly).")
    day_of_month = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 to 28 (monthly).")
    cron = models.CharField(max_length=120, blank=True, default="", help_text="minute hour day month weekday")
    time = models.TimeField(null=True, blank=True, help_text="Local time (not for cron).")
    timezone = models.CharField(max_length=64)
    format = models.CharField(max_length=8, choices=Format.choices)
    recipients = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="+")
    run_as = models.CharField(max_length=16, choices=RunAs.choices, default=RunAs.RECIPIENT)
    when_empty = models.CharField(max_length=8, choices=WhenEmpty.choices, default=WhenEmpty.SEND)
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=16, blank=True, default="")
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["definition", "id"]

    def __str__(self) -> str:
        return f"{self.definition}: {self.get_recurrence_display()}"


class ReportDelivery(models.Model):
    """One recipient's copy of one scheduled occurrence: its run, and whether the e-mail went (retried on failure)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped (empty)"
        REFUSED = "refused", "Not sent (the recipient may not see all of it)"
        FAILED = "failed", "Failed"

    schedule = models.ForeignKey(ReportSchedule, on_delete=models.CASCADE, related_name="deliveries")
    run = models.ForeignKey(ReportRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    attached = models.BooleanField(default=False, help_text="The file was attached (else a link was sent).")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.schedule} → {self.recipient}: {self.status}"
