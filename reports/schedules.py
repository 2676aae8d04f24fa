"""Schedules of reports and their e-mail deliveries.

A schedule says when a definition runs by itself (a recurrence, a local time and a time zone, or a cron expression),
in which format, for whom (recipients: teachers and administrators of the report's school) and with whose access:
each recipient's own ("run as the recipient": each gets only what they may see) or the owner's ("run as the owner":
sent only to recipients who may see all of it). Each schedule keeps one django-celery-beat PeriodicTask in step with
it (task reports.tasks.run_schedule, a CrontabSchedule in the schedule's time zone): created, changed, disabled and
deleted in the same transaction as the schedule.

An occurrence (schedule_run, from the beat task) writes each run's file first, then makes one ReportDelivery per
recipient: pending (to send), skipped (empty, when_empty=skip), refused (the recipient may not see all the owner's
report) or failed (the run failed: why). delivery_send e-mails one pending delivery through Django's email backend,
with the file attached up to REPORTS_EMAIL_ATTACHMENT_MAX_BYTES and a link to its download otherwise; a failed send is
retried by its task and, after the last attempt, the delivery is failed and the schedule says why."""

import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery.schedules import crontab
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from rest_framework import serializers

from accounts.models import Role, User
from accounts.permissions import is_administrator
from accounts.validators import validate_time_zone
from classroom.selectors import visible_courses
from reports import services
from reports.datasets import dataset
from reports.formats import CONTENT_TYPES, EXTENSIONS
from reports.models import Format, ReportDefinition, ReportDelivery, ReportRun, ReportSchedule
from reports.specs import may_use

logger = logging.getLogger(__name__)

RUN_SCHEDULE_TASK = "reports.tasks.run_schedule"
# A deliberately small list: a schedule mails people one by one, and each recipient run as themselves is a run.
MAX_RECIPIENTS = 50
# A delivery's e-mail is tried this many times in all (reports.tasks.deliver_report retries the others).
DELIVERY_ATTEMPTS = 3
# The schedule's answer shows its latest deliveries.
SHOWN_DELIVERIES = 20

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
CRON_LABELS = {
    "minute": "minute",
    "hour": "hour",
    "day_of_month": "day of the month",
    "month_of_year": "month",
    "day_of_week": "day of the week",
}
EDITABLE = ("recurrence", "weekday", "day_of_month", "cron", "time", "timezone", "format", "run_as", "when_empty")
Recurrence = ReportSchedule.Recurrence
WEEKDAY_REQUIRED = "Required for a weekly schedule: 0 Monday to 6 Sunday."


class DeliveryError(Exception):
    """A send that failed and may succeed if tried again (the SMTP server was down, refused, timed out...)."""


# SECTION: checking a schedule


@dataclass(frozen=True)
class Checked:
    """A schedule's fields, checked together (what the model stores) and its recipients."""

    fields: dict[str, Any]
    recipients: list[User]


def _invalid(field: str, message: str) -> serializers.ValidationError:
    return serializers.ValidationError({field: [message]})


def cron_fields(expression: str) -> dict[str, str]:
    """The five fields of a cron expression (minute hour day month weekday), each checked by Celery's own crontab
    parser; a 400 on `cron` names the field at fault. Reports run at most hourly: the minute is one number."""
    parts = expression.split()
    if len(parts) != len(CRON_FIELDS):
        raise _invalid(
            "cron",
            f"A cron expression has 5 fields (minute hour day month weekday); {expression.strip()!r} has {len(parts)}.",
        )
    fields = dict(zip(CRON_FIELDS, parts, strict=True))
    for name, value in fields.items():
        try:
            _crontab({name: value})
        except Exception as error:  # the parser's ValueError, or its ParseException for malformed text
            raise _invalid("cron", f"The {CRON_LABELS[name]} field {value!r} is not valid: {error}") from None
    if not fields["minute"].isdigit():
        raise _invalid(
            "cron",
            f"The minute field must be one number (0-59), not {fields['minute']!r}: a report runs at most hourly.",
        )
    return fields


def _crontab(fields: Mapping[str, str]) -> crontab:
    return crontab(
        minute=fields.get("minute", "*"),
        hour=fields.get("hour", "*"),
        day_of_week=fields.get("day_of_week", "*"),
        day_of_month=fields.get("day_of_month", "*"),
        month_of_year=fields.get("month_of_year", "*"),
    )


def crontab_fields(
    *, recurrence: str, time_of_day: time | None, weekday: int | None, day_of_month: int | None, cron: str
) -> dict[str, str]:
    """The schedule as the five crontab fields (Celery's day_of_week counts from 0 = Sunday)."""
    if recurrence == Recurrence.CRON:
        return cron_fields(cron)
    if time_of_day is None:
        raise _invalid("time", "Required: the local time, HH:MM.")
    fields = {
        "minute": str(time_of_day.minute),
        "hour": str(time_of_day.hour),
        "day_of_month": "*",
        "month_of_year": "*",
        "day_of_week": "*",
    }
    if recurrence == Recurrence.WEEKDAYS:
        fields["day_of_week"] = "1-5"
    elif recurrence == Recurrence.WEEKLY:
        if weekday is None:
            raise _invalid("weekday", WEEKDAY_REQUIRED)
        fields["day_of_week"] = str((weekday + 1) % 7)
    elif recurrence == Recurrence.MONTHLY:
        fields["day_of_month"] = str(day_of_month)
    return fields


def _time_zone(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("timezone", "Must be an IANA time zone name, e.g. Europe/Paris.")
    try:
        validate_time_zone(value)
    except DjangoValidationError:
        raise _invalid("timezone", f"Unknown time zone {value!r}; use an IANA name such as Europe/Paris.") from None
    return value


def is_staff_of(user: User, organization_id: int) -> bool:
    """May receive the school's reports: an active teacher or administrator of that school."""
    return bool(user.is_active and user.organization_id == organization_id and user.role in (Role.TEACHER, Role.ADMIN))


def _recipients(value: Any, organization_id: int) -> list[User]:
    if not isinstance(value, list) or not value:
        raise _invalid("recipients", "Name at least one recipient (user ids).")
    if len(value) > MAX_RECIPIENTS:
        raise _invalid("recipients", f"At most {MAX_RECIPIENTS} recipients.")
    ids: list[int] = []
    for each in value:
        if isinstance(each, bool) or not isinstance(each, int):
            raise _invalid("recipients", "Each recipient is a user id (a number).")
        if each not in ids:
            ids.append(each)
    found = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    for each in ids:
        user = found.get(each)
        # Unknown and outside the school answer alike: a schedule does not reveal who exists elsewhere.
        if user is None or not is_staff_of(user, organization_id):
            raise _invalid("recipients", f"User {each} is not a teacher or administrator of this school.")
    return [found[each] for each in ids]


def schedule_check(
    definition: ReportDefinition, data: Mapping[str, Any], *, current: ReportSchedule | None = None
) -> Checked:
    """The schedule `data` describes (over `current`'s fields for a change), every rule checked: a 400 naming the
    field for any fault, before anything is written. A field that does not apply to the recurrence is refused when
    given and cleared when left over from another recurrence."""
    merged: dict[str, Any] = {}
    if current is not None:
        merged = {name: getattr(current, name) for name in EDITABLE}
        merged["cron"] = current.cron or None
    merged.update({name: data[name] for name in EDITABLE if name in data})

    recurrence = merged.get("recurrence")
    if recurrence not in Recurrence.values:
        raise _invalid("recurrence", f"recurrence must be one of: {', '.join(Recurrence.values)}.")

    def applies(name: str, when: bool, required: str) -> Any:
        value = merged.get(name)
        if when:
            if value is None or value == "":
                raise _invalid(name, required)
            return value
        if data.get(name) not in (None, ""):
            raise _invalid(name, f"Not used with recurrence {recurrence!r}.")
        return None

    weekday = applies("weekday", recurrence == Recurrence.WEEKLY, WEEKDAY_REQUIRED)
    day_of_month = applies(
        "day_of_month", recurrence == Recurrence.MONTHLY, "Required for a monthly schedule: 1 to 28."
    )
    cron = applies("cron", recurrence == Recurrence.CRON, "Required: minute hour day month weekday, e.g. '0 7 * * 1'.")
    time_of_day = applies("time", recurrence != Recurrence.CRON, "Required: the local time, HH:MM.")
    if weekday is not None and (isinstance(weekday, bool) or not isinstance(weekday, int) or not 0 <= weekday <= 6):
        raise _invalid("weekday", "0 Monday to 6 Sunday.")
    if day_of_month is not None and (
        isinstance(day_of_month, bool) or not isinstance(day_of_month, int) or not 1 <= day_of_month <= 28
    ):
        raise _invalid("day_of_month", "1 to 28 (every month has them).")
    if isinstance(time_of_day, str):
        try:
            time_of_day = datetime.strptime(time_of_day, "%H:%M").time()  # noqa: DTZ007 - a local time of day
        except ValueError:
            raise _invalid("time", "The local time, HH:MM.") from None
    if time_of_day is not None and not isinstance(time_of_day, time):
        raise _invalid("time", "The local time, HH:MM.")
    if cron is not None and not isinstance(cron, str):
        raise _invalid("cron", "minute hour day month weekday, e.g. '0 7 * * 1'.")
    crontab_fields(
        recurrence=recurrence,
        time_of_day=time_of_day,
        weekday=weekday,
        day_of_month=day_of_month,
        cron=" ".join(cron.split()) if cron else "",
    )  # a 400 on cron for a bad expression

    zone = _time_zone(merged.get("timezone") or definition.organization.time_zone)
    fmt = merged.get("format")
    if fmt not in Format.values:
        raise _invalid("format", f"format must be one of: {', '.join(Format.values)}.")
    run_as = merged.get("run_as") or ReportSchedule.RunAs.RECIPIENT
    if run_as not in ReportSchedule.RunAs.values:
        raise _invalid("run_as", f"run_as must be one of: {', '.join(ReportSchedule.RunAs.values)}.")
    when_empty = merged.get("when_empty") or ReportSchedule.WhenEmpty.SEND
    if when_empty not in ReportSchedule.WhenEmpty.values:
        raise _invalid("when_empty", f"when_empty must be one of: {', '.join(ReportSchedule.WhenEmpty.values)}.")

    if "recipients" in data:
        recipients = _recipients(data["recipients"], definition.organization_id)
    elif current is not None:
        recipients = list(current.recipients.all())
    else:
        raise _invalid("recipients", "Name at least one recipient (user ids).")

    fields = {
        "recurrence": recurrence,
        "weekday": weekday,
        "day_of_month": day_of_month,
        "cron": " ".join(cron.split()) if cron else "",
        "time": time_of_day.replace(second=0, microsecond=0) if time_of_day is not None else None,
        "timezone": zone,
        "format": fmt,
        "run_as": run_as,
        "when_empty": when_empty,
    }
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise _invalid("enabled", "Must be true or false.")
        fields["enabled"] = data["enabled"]
    return Checked(fields=fields, recipients=recipients)


# SECTION: writing a schedule and its beat entry


def schedule_create(definition: ReportDefinition, *, owner: User, data: Mapping[str, Any]) -> ReportSchedule:
    """A new schedule of the definition (its owner's), with its beat entry."""
    checked = schedule_check(definition, data)
    with transaction.atomic():
        schedule = ReportSchedule.objects.create(definition=definition, owner=owner, **checked.fields)
        schedule.recipients.set(checked.recipients)
        _beat_entry_sync(schedule)
    return schedule


def schedule_update(schedule: ReportSchedule, data: Mapping[str, Any]) -> ReportSchedule:
    """Change any of the schedule's fields; its beat entry changes (or is disabled) with it."""
    checked = schedule_check(schedule.definition, data, current=schedule)
    with transaction.atomic():
        locked = ReportSchedule.objects.select_for_update().get(pk=schedule.pk)
        for name, value in checked.fields.items():
            setattr(locked, name, value)
        locked.save()
        if "recipients" in data:
            locked.recipients.set(checked.recipients)
        _beat_entry_sync(locked)
    return locked


def schedule_delete(schedule: ReportSchedule) -> None:
    """Delete the schedule with its beat entry (its runs stay, no longer linked to it)."""
    with transaction.atomic():
        task = PeriodicTask.objects.filter(pk=schedule.periodic_task_id).select_related("crontab").first()
        schedule.delete()
        if task is not None:
            crontab_row = task.crontab
            task.delete()  # PeriodicTask.delete() tells a running beat that its schedule changed
            if crontab_row is not None:
                crontab_row.delete()


def beat_entry_name(schedule: ReportSchedule) -> str:
    return f"reports.schedule.{schedule.pk}"


def _crontab_of(schedule: ReportSchedule) -> dict[str, str]:
    return crontab_fields(
        recurrence=schedule.recurrence,
        time_of_day=schedule.time,
        weekday=schedule.weekday,
        day_of_month=schedule.day_of_month,
        cron=schedule.cron,
    )


def _beat_entry_sync(schedule: ReportSchedule) -> None:
    """Create or change the schedule's PeriodicTask (and its own CrontabSchedule, in the schedule's time zone) to
    match it. Saved through the models, so django-celery-beat's signals tell a running beat."""
    fields = _crontab_of(schedule)
    task = PeriodicTask.objects.filter(pk=schedule.periodic_task_id).select_related("crontab").first()
    # Each schedule has a crontab row of its own: changed in place, deleted with it, never shared with another entry.
    crontab_row = task.crontab if task is not None and task.crontab is not None else CrontabSchedule()
    for name, value in fields.items():
        setattr(crontab_row, name, value)
    crontab_row.timezone = ZoneInfo(schedule.timezone)
    crontab_row.save()
    if task is None:
        task = PeriodicTask(name=beat_entry_name(schedule))
    task.task = RUN_SCHEDULE_TASK
    task.crontab = crontab_row
    task.args = json.dumps([schedule.pk])
    task.kwargs = "{}"
    task.enabled = schedule.enabled
    task.description = f"Report {schedule.definition.name!r}: {schedule_text(schedule)}"[:2000]
    task.save()
    if schedule.periodic_task_id != task.pk:
        schedule.periodic_task = task
        ReportSchedule.objects.filter(pk=schedule.pk).update(periodic_task=task)


# SECTION: describing a schedule


def schedule_text(schedule: ReportSchedule) -> str:
    """When it runs, in words: "Every Monday at 07:30 (Europe/Paris)"."""
    at = f"{schedule.time:%H:%M}" if schedule.time is not None else ""
    if schedule.recurrence == Recurrence.CRON:
        when = f"On cron {schedule.cron!r}"
    elif schedule.recurrence == Recurrence.WEEKDAYS:
        when = f"Monday to Friday at {at}"
    elif schedule.recurrence == Recurrence.WEEKLY and schedule.weekday is not None:
        when = f"Every {WEEKDAY_NAMES[schedule.weekday]} at {at}"
    elif schedule.recurrence == Recurrence.MONTHLY:
        when = f"On day {schedule.day_of_month} of every month at {at}"
    else:
        when = f"Every day at {at}"
    return f"{when} ({schedule.timezone})"


def next_run_at(schedule: ReportSchedule, *, now: datetime | None = None) -> datetime | None:
    """The next time the schedule runs after `now` (aware), or None while it is disabled. Counted in local wall-clock
    time, so a daily 07:30 stays 07:30 across a change to or from summer time; a time the clocks skip that day is
    counted with the offset before the change (02:30 becomes 03:30)."""
    if not schedule.enabled:
        return None
    fields = _crontab_of(schedule)
    return next_occurrence(fields, ZoneInfo(schedule.timezone), now or timezone.now())


def next_occurrence(fields: Mapping[str, str], zone: ZoneInfo, now: datetime) -> datetime | None:
    parsed: Any = _crontab(fields)  # Celery's crontab: each field parsed into the set of its values
    local_now = now.astimezone(zone)
    # Celery matches a day only when both its day of the month and its day of the week match.
    for day in _days_from(local_now.date()):
        if (
            day.month not in parsed.month_of_year
            or day.day not in parsed.day_of_month
            or (day.weekday() + 1) % 7 not in parsed.day_of_week
        ):
            continue
        for hour in sorted(parsed.hour):
            for minute in sorted(parsed.minute):
                candidate = datetime.combine(day, time(hour, minute), tzinfo=zone)
                if candidate.astimezone(UTC) > now:
                    return candidate
    return None


def _days_from(first: date) -> Iterator[date]:
    # Eight years hold every combination of month, day and weekday (29 February on a given weekday excepted).
    for offset in range(366 * 8):
        yield first + timedelta(days=offset)


# SECTION: running an occurrence


def sees_all_of(owner: User, recipient: User, definition: ReportDefinition) -> bool:
    """May `recipient` have the owner's run of the report? The owner, an administrator of the school, or a staff
    member who may use the dataset and sees every class the owner sees (rows are scoped by class)."""
    if recipient.pk == owner.pk:
        return True
    chosen = dataset(definition.version.dataset)
    if chosen is None or not may_use(recipient, chosen):
        return False
    if is_administrator(recipient) and recipient.organization_id == definition.organization_id:
        return True
    return not visible_courses(owner).exclude(pk__in=visible_courses(recipient).values("pk")).exists()


def _detail_text(detail: Any) -> str:
    if isinstance(detail, Mapping):
        return "; ".join(f"{name}: {_detail_text(value)}" for name, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_detail_text(value) for value in detail)
    return str(detail)


def _run(schedule: ReportSchedule, *, run_for: User, requested_by: User | None) -> tuple[ReportRun | None, str]:
    """Write one run's file now (the schedule's task is already in the background): the run, and why it failed."""
    try:
        run = services.run_request(
            schedule.definition,
            fmt=schedule.format,
            run_for=run_for,
            requested_by=requested_by,
            schedule=schedule,
            enqueue=False,
        )
    except serializers.ValidationError as error:  # over the row limit, or no longer within run_for's access
        return None, f"The report could not run for {run_for.display_name}: {_detail_text(error.detail)}"[:500]
    services.run_execute(run.pk)
    run = ReportRun.objects.select_related("job").get(pk=run.pk)
    if run.job.status != "succeeded":
        return run, (run.job.message or "The run failed.")[:500]
    return run, ""


def _delivery(
    schedule: ReportSchedule, *, recipient: User, run: ReportRun | None, error: str, **fields: Any
) -> ReportDelivery:
    if error:
        status = ReportDelivery.Status.FAILED
    elif run is not None and not run.row_count and schedule.when_empty == ReportSchedule.WhenEmpty.SKIP:
        status = ReportDelivery.Status.SKIPPED
    else:
        status = ReportDelivery.Status.PENDING
    fields.setdefault("status", status)
    return ReportDelivery.objects.create(schedule=schedule, recipient=recipient, run=run, error=error, **fields)


def schedule_run(schedule_id: int) -> list[int]:
    """One occurrence of the schedule: its runs (files written before anything is sent) and a delivery per
    recipient. Returns the ids of the deliveries to send (the caller queues deliver_report for each)."""
    schedule = (
        ReportSchedule.objects.select_related("definition", "definition__organization", "owner")
        .filter(pk=schedule_id)
        .first()
    )
    if schedule is None or not schedule.enabled:
        return []  # deleted or disabled since beat sent it
    # The occurrence starts now: its deliveries are those created from now on (schedule_status_refresh).
    ReportSchedule.objects.filter(pk=schedule.pk).update(
        last_run_at=timezone.now(), last_status="running", last_error=""
    )
    definition = schedule.definition
    owner = schedule.owner
    recipients = list(schedule.recipients.order_by("pk"))
    deliveries: list[ReportDelivery] = []
    gone = [each for each in recipients if not is_staff_of(each, definition.organization_id)]
    for recipient in gone:
        deliveries.append(
            _delivery(
                schedule,
                recipient=recipient,
                run=None,
                error=f"{recipient.display_name} is no longer a teacher or administrator of this school.",
            )
        )
    current = [each for each in recipients if each not in gone]
    if schedule.run_as == ReportSchedule.RunAs.RECIPIENT:
        for recipient in current:
            run, error = _run(schedule, run_for=recipient, requested_by=None)
            deliveries.append(_delivery(schedule, recipient=recipient, run=run, error=error))
    else:
        allowed = [each for each in current if sees_all_of(owner, each, definition)]
        for recipient in current:
            if recipient not in allowed:
                deliveries.append(
                    _delivery(
                        schedule,
                        recipient=recipient,
                        run=None,
                        error=f"Not sent: {recipient.display_name} may not see all of {owner.display_name}'s report.",
                        status=ReportDelivery.Status.REFUSED,
                    )
                )
        if allowed:
            run, error = _run(schedule, run_for=owner, requested_by=owner)
            for recipient in allowed:
                deliveries.append(_delivery(schedule, recipient=recipient, run=run, error=error))
    schedule_status_refresh(schedule.pk)
    return [each.pk for each in deliveries if each.status == ReportDelivery.Status.PENDING]


def schedule_status_refresh(schedule_id: int) -> None:
    """The schedule's last_status and last_error, from the deliveries of its latest occurrence: sending while any
    is pending, failed when any failed (last_error says whose and why), else sent, skipped or refused."""
    with transaction.atomic():
        schedule = ReportSchedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None or schedule.last_run_at is None:
            return
        latest = list(
            schedule.deliveries.filter(created_at__gte=schedule.last_run_at).select_related("recipient").order_by("id")
        )
        by_status: dict[str, list[ReportDelivery]] = {}
        for each in latest:
            by_status.setdefault(each.status, []).append(each)
        status, error = _occurrence_status(by_status)
        ReportSchedule.objects.filter(pk=schedule.pk).update(last_status=status, last_error=error[:500])


def _occurrence_status(by_status: Mapping[str, list[ReportDelivery]]) -> tuple[str, str]:
    Status = ReportDelivery.Status
    refused = by_status.get(Status.REFUSED, [])
    refused_text = (
        "Not sent to " + ", ".join(each.recipient.display_name for each in refused) + " (may not see all of it)."
        if refused
        else ""
    )
    if failed := by_status.get(Status.FAILED):
        first = failed[0]
        return "failed", f"{first.recipient.display_name}: {first.error}"
    if by_status.get(Status.PENDING):
        return "sending", refused_text
    if by_status.get(Status.SENT):
        return "sent", refused_text
    if by_status.get(Status.SKIPPED):
        return "skipped", refused_text
    if refused:
        return "refused", refused_text
    return "failed", "The schedule has no recipients."


# SECTION: e-mail


def attachment_name(run: ReportRun) -> str:
    return f"{slugify(run.definition.name) or 'report'}-{run.created_at:%Y-%m-%d}.{EXTENSIONS[run.format]}"


def delivery_message(delivery: ReportDelivery) -> tuple[EmailMessage, bool]:
    """The e-mail of one delivery, and whether the file is attached. Raises ValueError when it cannot be sent at
    all (no address, no file any more): trying again would not help."""
    recipient = delivery.recipient
    run = delivery.run
    if not recipient.email:
        raise ValueError(f"{recipient.display_name} has no e-mail address.")
    if run is None:
        raise ValueError("The delivery has no run.")
    path = services.file_path(run)
    if path is None:
        raise ValueError("The report's file is no longer available (expired or removed).")
    definition = run.definition
    schedule = delivery.schedule
    result = run.job.result or {}
    link = f"{settings.SITE_URL.rstrip('/')}{services.download_path(run.pk)}"
    size = run.size_bytes or path.stat().st_size
    attached = size <= settings.REPORTS_EMAIL_ATTACHMENT_MAX_BYTES
    rows = run.row_count or 0
    lines = [
        f"Hello {recipient.display_name},",
        "",
        f"here is the report {definition.name!r}, scheduled by {schedule.owner.display_name}: "
        f"{schedule_text(schedule)}.",
        "",
        f"Format: {Format(run.format).label}",
        f"Scope: {result.get('scope') or 'what ' + run.run_for.display_name + ' may see'}",
        f"Rows: {rows:,}",
        f"Figures as of: {result.get('as_of') or run.created_at.isoformat()}",
        "",
        "The file is attached."
        if attached
        else f"The file ({size:,} bytes) is too large to attach; download it from the link below.",
        f"Download (sign in first; until {run.expires_at:%Y-%m-%d %H:%M %Z}): {link}"
        if run.expires_at
        else f"Download (sign in first): {link}",
        "",
        "You receive this because you are a recipient of this schedule; its owner can change or delete it.",
    ]
    message = EmailMessage(
        subject=f"Report: {definition.name}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.email],
    )
    if attached:
        message.attach(attachment_name(run), path.read_bytes(), CONTENT_TYPES[run.format].split(";")[0])
    return message, attached


def delivery_send(delivery_id: int, *, last_attempt: bool) -> str:
    """Send one pending delivery's e-mail and record how it went; returns its status. A send that fails raises
    DeliveryError (to be retried) unless this is the last attempt, which marks the delivery failed. A delivery no
    longer pending (a repeated task) is left alone."""
    with transaction.atomic():
        delivery = (
            ReportDelivery.objects.select_for_update(of=("self",))
            .select_related(
                "recipient", "schedule", "schedule__owner", "run", "run__definition", "run__job", "run__run_for"
            )
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != ReportDelivery.Status.PENDING:
            return delivery.status if delivery is not None else ""
        delivery.attempts += 1
        ReportDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts)
    try:
        message, attached = delivery_message(delivery)
    except ValueError as error:  # nothing to retry
        return _delivery_end(delivery, status=ReportDelivery.Status.FAILED, error=str(error))
    try:
        message.send()
    except Exception as error:  # SMTP refusals and timeouts, a broken backend: any of them may pass on retry
        text = f"{type(error).__name__}: {error}"[:500]
        logger.warning("report delivery %s, attempt %s: %s", delivery.pk, delivery.attempts, text)
        if last_attempt:
            return _delivery_end(delivery, status=ReportDelivery.Status.FAILED, error=text)
        ReportDelivery.objects.filter(pk=delivery.pk).update(error=text)
        raise DeliveryError(text) from error
    return _delivery_end(delivery, status=ReportDelivery.Status.SENT, error="", attached=attached)


def _delivery_end(delivery: ReportDelivery, *, status: str, error: str, attached: bool = False) -> str:
    sent_at = timezone.now() if status == ReportDelivery.Status.SENT else None
    ReportDelivery.objects.filter(pk=delivery.pk).update(
        status=status, error=error[:500], attached=attached, sent_at=sent_at
    )
    schedule_status_refresh(delivery.schedule_id)
    return status
