"""One sync of a connection: the teacher's Google Classroom courses, and for each its topics (→ modules), roster
(→ people and enrolments), course work and materials (→ items) and students' submissions (→ submissions, and
learning events for what happened: turned in, returned, graded), written through classroom's and analytics'
services.

Each course is read whole from Google first, then written in one transaction: a failure while reading or a
malformed answer leaves the course exactly as the previous sync left it (and is recorded on it), and the other
courses go on. Google keeps one submission per student and piece of work; its fingerprint (a hash of the record)
is kept, so a record that did not change is not written again and a sync with nothing changed writes nothing.
Events carry ids derived from the record and moment, so one never arrives twice.
"""

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import Role, User
from accounts.services import user_fields_clean, users_create_many
from analytics.models import Action
from analytics.services import ResolvedEvent, synced_events_record
from analytics.validation import EventIn
from classroom.external import (
    ExternalItem,
    ExternalWork,
    course_external_upsert,
    enrollments_sync,
    learning_items_external_sync,
    modules_external_sync,
    submissions_external_sync,
)
from classroom.models import Course, Enrollment, LearningItem
from google_classroom.client import AccessRevoked, ClassroomClient, GoogleError, GoogleRefused, GoogleUnavailable
from google_classroom.jobs import CourseOutcome, SyncResult
from google_classroom.models import Connection, Fingerprint, SyncedCourse

logger = logging.getLogger(__name__)

SOURCE = "google_classroom"
# The namespace of the connector's event ids: uuid5 of the record and moment, the same on every run.
EVENT_NAMESPACE = uuid.UUID("5d0c7a3e-9a51-4c1e-8f3e-6f1c2b7a9e10")
# After this many courses in a row fail because Google is unreachable, the rest wait for the next sync instead of
# each spending its own retries against an outage.
OUTAGE_COURSES = 3

WORK_KINDS = {
    "ASSIGNMENT": LearningItem.Kind.ASSIGNMENT,
    "SHORT_ANSWER_QUESTION": LearningItem.Kind.QUIZ,
    "MULTIPLE_CHOICE_QUESTION": LearningItem.Kind.QUIZ,
}
HANDED_IN_STATES = frozenset({"TURNED_IN", "RETURNED"})
SUBMISSION_STATES = frozenset({"NEW", "CREATED", "TURNED_IN", "RETURNED", "RECLAIMED_BY_STUDENT"})


class MalformedAnswer(GoogleError):
    """Google answered something we cannot read (a required field missing, a value of the wrong type)."""


# SECTION: reading Google's records


def _required(record: Mapping[str, Any], name: str, what: str) -> str:
    value = record.get(name)
    if not isinstance(value, str | int) or value == "":
        raise MalformedAnswer(f"Google Classroom sent a {what} without '{name}'.")
    return str(value)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    parsed = parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def _points(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        points = Decimal(str(value))
    except InvalidOperation:
        return None
    return points if points.is_finite() else None


def due_moment(work: Mapping[str, Any], zone: ZoneInfo) -> datetime | None:
    """Google gives the due date and time in UTC; a date without a time is due at the end of that day in the
    course's zone (as Classroom shows it)."""
    day = work.get("dueDate")
    if not isinstance(day, dict):
        return None
    try:
        year, month, date_of_month = int(day["year"]), int(day["month"]), int(day["day"])
        clock = work.get("dueTime")
        if isinstance(clock, dict):
            return datetime(
                year,
                month,
                date_of_month,
                int(clock.get("hours", 0)),
                int(clock.get("minutes", 0)),
                int(clock.get("seconds", 0)),
                tzinfo=UTC,
            )
        return datetime.combine(date(year, month, date_of_month), time(23, 59), tzinfo=zone)
    except (KeyError, TypeError, ValueError):
        raise MalformedAnswer(f"Google Classroom sent course work {work.get('id')} with an invalid due date.") from None


def created_day(course: Mapping[str, Any], zone: ZoneInfo) -> date | None:
    """The day the course was created in Classroom (in the organisation's zone): when the class started, for
    everything that asks whether a class is running (predictions)."""
    moment = _moment(course.get("creationTime"))
    return moment.astimezone(zone).date() if moment is not None else None


def digest(record: Mapping[str, Any]) -> str:
    return hashlib.blake2b(orjson.dumps(record, option=orjson.OPT_SORT_KEYS), digest_size=16).hexdigest()


@dataclass
class CourseBundle:
    """Everything Google holds about one course, read before anything is written."""

    course: dict[str, Any]
    topics: list[dict[str, Any]]
    teachers: list[dict[str, Any]]
    students: list[dict[str, Any]]
    work: list[dict[str, Any]]
    materials: list[dict[str, Any]]
    submissions: list[dict[str, Any]]


def bundle_read(client: ClassroomClient, course: dict[str, Any]) -> CourseBundle:
    course_id = _required(course, "id", "course")
    return CourseBundle(
        course=course,
        topics=client.topics(course_id),
        teachers=client.teachers(course_id),
        students=client.students(course_id),
        work=client.course_work(course_id),
        materials=client.materials(course_id),
        submissions=client.submissions(course_id),
    )


# SECTION: writing one course


@dataclass
class CourseWrite:
    written: int = 0
    events: int = 0
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _profile(entry: Mapping[str, Any], what: str) -> tuple[str, str, str, str]:
    """(Google user id, email, given name, family name) of a roster entry."""
    user_id = _required(entry, "userId", what)
    found = entry.get("profile")
    profile: dict[str, Any] = found if isinstance(found, dict) else {}
    found = profile.get("name")
    name: dict[str, Any] = found if isinstance(found, dict) else {}
    email = profile.get("emailAddress")
    return (
        user_id,
        email.strip().lower() if isinstance(email, str) else "",
        str(name.get("givenName") or "")[:150],
        str(name.get("familyName") or "")[:150],
    )


def _in_domains(email: str, domains: Iterable[str]) -> bool:
    return bool(email) and email.rsplit("@", 1)[-1] in {d.lower() for d in domains}


def roster_people(
    *, connection: Connection, bundle: CourseBundle
) -> tuple[set[int], set[int], dict[str, int], CourseWrite]:
    """The course's teachers and students as users of the organisation: matched by their Google id (an earlier
    sync), else by email within the organisation's domains; students not found are created (no usable password);
    teachers not found are not created (an administrator adds staff) and are counted. Answers (teacher ids,
    student ids, user id by Google id, what was written)."""
    organization = connection.organization
    domains = organization.email_domains
    outcome = CourseWrite()
    entries = [("teacher", entry) for entry in bundle.teachers] + [("student", entry) for entry in bundle.students]
    people = [(role, *_profile(entry, f"course {role}")) for role, entry in entries]
    google_ids = {person[1] for person in people}
    emails = {person[2] for person in people if _in_domains(person[2], domains)}
    users = User.objects.filter(organization=organization, is_active=True)
    by_google = {u.external_id: u for u in users.filter(external_source=SOURCE, external_id__in=google_ids)}
    by_email = {u.email.lower(): u for u in users.annotate(lower=Lower("email")).filter(lower__in=emails)}
    if connection.google_user_id:
        by_google.setdefault(connection.google_user_id, connection.user)
    taken = set(
        User.objects.annotate(lower=Lower("email"))
        .filter(lower__in={person[2] for person in people if person[2]})
        .values_list("lower", flat=True)
    )
    teacher_ids: set[int] = set()
    student_ids: set[int] = set()
    to_create: list[dict[str, str]] = []
    unmatched_teachers = 0
    for role, google_id, email, given, family in people:
        user = by_google.get(google_id) or (by_email.get(email) if _in_domains(email, domains) else None)
        if role == "teacher":
            if user is not None and user.role in (Role.TEACHER, Role.ADMIN):
                teacher_ids.add(user.pk)
            else:
                unmatched_teachers += 1
            continue
        if user is not None:
            if user.role == Role.STUDENT:
                student_ids.add(user.pk)
                by_google.setdefault(google_id, user)
            continue
        values = {
            "username": f"gc{organization.pk}-{google_id}"[:150],  # usernames are unique across organisations
            "email": email if email and email not in taken else "",
            "first_name": given,
            "last_name": family,
            "role": Role.STUDENT.value,
            "external_source": SOURCE,
            "external_id": google_id,
        }
        cleaned, errors = user_fields_clean(values=values)
        if errors:
            values["email"] = ""
            cleaned, errors = user_fields_clean(values=values)
        if errors:
            outcome.notes.append(f"student {google_id} skipped: {'; '.join(m for ms in errors.values() for m in ms)}")
            continue
        taken.add(values["email"])
        to_create.append(cleaned)
    for user in users_create_many(organization=organization, people=to_create):
        student_ids.add(user.pk)
        by_google[user.external_id] = user
    outcome.written += len(to_create)
    if unmatched_teachers:
        outcome.notes.append(
            f"{unmatched_teachers} co-teacher(s) without an EduPath staff account in the organisation's domains "
            "were not added."
        )
    outcome.counts = {"teachers": len(teacher_ids), "students": len(student_ids), "people_created": len(to_create)}
    return teacher_ids, student_ids, {google_id: user.pk for google_id, user in by_google.items()}, outcome


def items_of(
    *, bundle: CourseBundle, modules: Mapping[str, int], general: int, zone: ZoneInfo
) -> tuple[list[ExternalItem], list[str]]:
    notes: list[str] = []
    items: list[ExternalItem] = []
    for position, work in enumerate(bundle.work):
        work_id = _required(work, "id", "course work")
        kind = WORK_KINDS.get(str(work.get("workType")))
        if kind is None:
            notes.append(f"course work {work_id} of unknown type {work.get('workType')!r} skipped")
            continue
        points = _points(work.get("maxPoints"))
        items.append(
            ExternalItem(
                external_id=work_id,
                module_id=modules.get(str(work.get("topicId") or ""), general),
                kind=kind,
                title=str(work.get("title") or "(untitled)"),
                position=position,
                # to the cent, as the item stores it: what is compared next time equals what was written
                max_points=points.quantize(Decimal("0.01")) if points is not None and points > 0 else None,
                due_at=due_moment(work, zone),
                activity_type=str(work.get("workType")).lower(),
            )
        )
    for position, material in enumerate(bundle.materials, start=len(bundle.work)):
        material_id = _required(material, "id", "course material")
        items.append(
            ExternalItem(
                external_id=f"material:{material_id}",
                module_id=modules.get(str(material.get("topicId") or ""), general),
                kind=LearningItem.Kind.RESOURCE,
                title=str(material.get("title") or "(untitled)"),
                position=position,
                max_points=None,
                due_at=None,
                activity_type="material",
            )
        )
    return items, notes


def _event(
    *, course: Course, item_id: int, student_id: int, key: str, action: str, at: datetime, **extra: Any
) -> ResolvedEvent:
    return ResolvedEvent(
        EventIn(
            event_id=uuid.uuid5(EVENT_NAMESPACE, key),
            action=action,
            occurred_at=at,
            course_id=course.pk,
            item_id=item_id,
            resource_type="google_classroom_submission",
            metadata={"source": SOURCE},
            **extra,
        ),
        actor_id=student_id,
        organization_id=course.organization_id,
    )


def submission_events(
    *, course: Course, submission: Mapping[str, Any], item_id: int, kind: str, student_id: int, now: datetime
) -> list[ResolvedEvent]:
    """What the submission's history says happened: each time it was turned in (the student's hand-in), returned
    and given an assigned grade (the teacher's), at Google's timestamps (none from the future)."""
    submission_id = str(submission["id"])
    submit = Action.QUIZ_SUBMIT if kind == LearningItem.Kind.QUIZ else Action.ASSIGNMENT_SUBMIT
    events: list[ResolvedEvent] = []
    history = submission.get("submissionHistory")
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict):
            continue
        state = entry.get("stateHistory")
        grade = entry.get("gradeHistory")
        if isinstance(state, dict):
            at = _moment(state.get("stateTimestamp"))
            action = {"TURNED_IN": submit, "RETURNED": Action.WORK_RETURNED}.get(str(state.get("state")))
            if at is not None and action is not None and at <= now:
                key = f"{course.organization_id}:{course.external_id}:{submission_id}:{action}:{at.isoformat()}"
                events.append(
                    _event(course=course, item_id=item_id, student_id=student_id, key=key, action=action, at=at)
                )
        elif isinstance(grade, dict) and grade.get("gradeChangeType") == "ASSIGNED_GRADE_POINTS_EARNED_CHANGE":
            at = _moment(grade.get("gradeTimestamp"))
            earned, top = _points(grade.get("pointsEarned")), _points(grade.get("maxPoints"))
            if at is None or at > now or earned is None:
                continue
            key = f"{course.organization_id}:{course.external_id}:{submission_id}:graded:{at.isoformat()}"
            score = {"score_raw": earned, "score_max": top} if top and top > 0 and 0 <= earned <= top * 10 else {}
            events.append(
                _event(
                    course=course,
                    item_id=item_id,
                    student_id=student_id,
                    key=key,
                    action=Action.WORK_GRADED,
                    at=at,
                    **score,
                )
            )
    return events


def _handed_in_at(submission: Mapping[str, Any]) -> datetime | None:
    """When the work was last turned in (its history's last TURNED_IN), if it is handed in now."""
    if submission.get("state") not in HANDED_IN_STATES:
        return None
    moments = [
        _moment(entry["stateHistory"].get("stateTimestamp"))
        for entry in submission.get("submissionHistory") or []
        if isinstance(entry, dict)
        and isinstance(entry.get("stateHistory"), dict)
        and entry["stateHistory"].get("state") == "TURNED_IN"
    ]
    found = [moment for moment in moments if moment is not None]
    return max(found) if found else None


def course_write(*, connection: Connection, synced: SyncedCourse, bundle: CourseBundle, now: datetime) -> CourseWrite:
    """Write one course read from Google, in the caller's transaction."""
    google_course = bundle.course
    course_id = _required(google_course, "id", "course")
    course, created = course_external_upsert(
        organization=connection.organization,
        source=SOURCE,
        external_id=course_id,
        title=str(google_course.get("name") or f"Classroom course {course_id}"),
        subject=str(google_course.get("section") or google_course.get("descriptionHeading") or ""),
        start_date=created_day(google_course, ZoneInfo(connection.organization.time_zone)),
    )
    outcome = CourseWrite(written=int(created))
    zone = ZoneInfo(course.time_zone)
    synced.course = course

    topics = [(_required(topic, "topicId", "topic"), str(topic.get("name") or "Topic")) for topic in bundle.topics]
    modules, modules_written = modules_external_sync(
        course=course, source=SOURCE, modules=[*topics, (f"general:{course_id}", "Other work")]
    )
    outcome.written += modules_written

    teacher_ids, student_ids, user_of, roster = roster_people(connection=connection, bundle=bundle)
    outcome.written += roster.written
    outcome.notes += roster.notes
    if connection.user.role == Role.TEACHER:  # an administrator syncing the domain teaches none of it
        teacher_ids.add(connection.user_id)
    # Google does not say when someone joined a class. The roster found by a course's first sync was there from
    # the start (so work due since counts for them: on time, late or missing); later arrivals joined now.
    created_at = _moment(google_course.get("creationTime"))
    joined_at = min(created_at, now) if created and created_at is not None else now
    for role, ids in ((Enrollment.Role.TEACHER, teacher_ids), (Enrollment.Role.STUDENT, student_ids)):
        added, dropped = enrollments_sync(course=course, role=role, user_ids=ids, now=now, joined_at=joined_at)
        outcome.written += added + dropped

    items, notes = items_of(
        bundle=bundle,
        modules={external_id: module.pk for external_id, module in modules.items()},
        general=modules[f"general:{course_id}"].pk,
        zone=zone,
    )
    outcome.notes += notes
    item_of, items_written = learning_items_external_sync(course=course, source=SOURCE, items=items)
    outcome.written += items_written
    kinds = {item.external_id: item.kind for item in items}
    points = {item_of[item.external_id]: item.max_points for item in items}  # as just written

    known = dict(
        Fingerprint.objects.filter(synced_course=synced, kind=Fingerprint.Kind.SUBMISSION).values_list(
            "google_id", "digest"
        )
    )
    works: list[ExternalWork] = []
    events: list[ResolvedEvent] = []
    prints: dict[str, str] = {}
    skipped = 0
    for submission in bundle.submissions:
        submission_id = _required(submission, "id", "student submission")
        work_id = _required(submission, "courseWorkId", "student submission")
        state = submission.get("state")
        item_id = item_of.get(work_id)
        student_id = user_of.get(_required(submission, "userId", "student submission"))
        if state not in SUBMISSION_STATES or item_id is None or student_id is None or student_id not in student_ids:
            skipped += 1  # not written, not fingerprinted: read again next time
            continue
        # the record and the item's maximum (a score is kept within it): a new maximum rewrites the scores
        print_ = digest({"submission": submission, "max_points": str(points.get(item_id))})
        if known.get(submission_id) == print_:
            continue
        prints[submission_id] = print_
        assigned = _points(submission.get("assignedGrade"))
        works.append(
            ExternalWork(
                item_id=item_id,
                student_id=student_id,
                submitted_at=_handed_in_at(submission),
                late=bool(submission.get("late")),
                score=assigned,
            )
        )
        events += submission_events(
            course=course, submission=submission, item_id=item_id, kind=kinds[work_id], student_id=student_id, now=now
        )
    if skipped:
        outcome.notes.append(f"{skipped} submission(s) of unknown work, people or state skipped")
    outcome.written += submissions_external_sync(works=works, max_points=points)
    if events:
        outcome.events = synced_events_record(events=events, received_at=now)
        outcome.written += outcome.events
    fingerprints_store(synced=synced, prints=prints, current={str(s.get("id")) for s in bundle.submissions})
    outcome.counts = {
        **roster.counts,
        "items": len(items),
        "submissions": len(bundle.submissions),
        "submissions_changed": len(works),
        "events": outcome.events,
    }
    return outcome


def fingerprints_store(*, synced: SyncedCourse, prints: Mapping[str, str], current: set[str]) -> None:
    """Keep the new fingerprints; forget those of records Google no longer lists."""
    kind = Fingerprint.Kind.SUBMISSION
    if prints:
        Fingerprint.objects.bulk_create(
            [Fingerprint(synced_course=synced, kind=kind, google_id=gid, digest=d) for gid, d in prints.items()],
            update_conflicts=True,
            unique_fields=["synced_course", "kind", "google_id"],
            update_fields=["digest"],
            batch_size=5_000,
        )
    Fingerprint.objects.filter(synced_course=synced, kind=kind).exclude(google_id__in=current).delete()


# SECTION: a whole sync


Progress = Callable[[int, str], None]


def _course_rows(connection: Connection, courses: Sequence[dict[str, Any]], now: datetime) -> list[SyncedCourse]:
    """The connection's SyncedCourse rows for Google's list (created, renamed); those Google no longer lists are
    marked removed (their EduPath course and data stay)."""
    existing = {row.google_course_id: row for row in connection.courses.all()}
    rows: list[SyncedCourse] = []
    for google_course in courses:
        google_id = _required(google_course, "id", "course")
        row = existing.get(google_id) or SyncedCourse(connection=connection, google_course_id=google_id)
        name = str(google_course.get("name") or google_id)[:200]
        state = str(google_course.get("courseState") or "")[:24]
        if row.pk is None or (row.name, row.google_state) != (name, state):
            row.name, row.google_state = name, state
            row.save()
        rows.append(row)
    listed = {row.google_course_id for row in rows}
    connection.courses.exclude(google_course_id__in=listed).exclude(status=SyncedCourse.Status.REMOVED).update(
        status=SyncedCourse.Status.REMOVED, last_error="", updated_at=now
    )
    return rows


def connection_sync(
    *,
    connection: Connection,
    client: ClassroomClient,
    now: datetime | None = None,
    google_course_ids: set[str] | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Sync the connection's courses (or only `google_course_ids` among them). Raises AccessRevoked (after
    marking the connection) when Google no longer accepts its token; every other failure is recorded on the course
    it happened in.

    Courses are read from Google by GOOGLE_SYNC_READERS threads (each with a client of its own: the HTTP library
    is not thread-safe), a few courses ahead, and written here, one course per transaction, in Google's order: the
    sync waits on Google's latency once per reader rather than once per request."""
    now = now or timezone.now()
    result: SyncResult = {
        "courses": 0,
        "synced": 0,
        "failed": 0,
        "written": 0,
        "events": 0,
        "requests": 0,
        "outcomes": [],
    }
    readers: list[ClassroomClient] = []
    local = threading.local()

    def read(course: dict[str, Any]) -> CourseBundle:
        reader = getattr(local, "client", None)
        if reader is None:
            reader = local.client = client.copy()
            readers.append(reader)
        return bundle_read(reader, course)

    pool = ThreadPoolExecutor(max_workers=settings.GOOGLE_SYNC_READERS, thread_name_prefix="classroom-read")
    try:
        # A teacher's connection syncs the classes they teach; an administrator's, every class of the domain.
        courses = client.courses(
            include_archived=connection.include_archived, taught_only=connection.user.role != Role.ADMIN
        )
        rows = _course_rows(connection, courses, now)
        by_id = {str(course["id"]): course for course in courses}
        if google_course_ids is not None:
            rows = [row for row in rows if row.google_course_id in google_course_ids]
        result["courses"] = len(rows)
        ahead = settings.GOOGLE_SYNC_READERS * 2  # bundles read ahead of the writer: bounded memory
        reading: dict[int, Future[CourseBundle]] = {}
        unavailable = 0
        for index, row in enumerate(rows):
            if unavailable >= OUTAGE_COURSES:
                result["outcomes"].append(_outcome(row, "skipped", 0, "Not reached: Google Classroom was unavailable."))
                continue
            for later in range(index, min(index + ahead, len(rows))):
                if later not in reading:
                    reading[later] = pool.submit(read, by_id[rows[later].google_course_id])
            try:
                bundle = reading.pop(index).result()
                with transaction.atomic():
                    written = course_write(connection=connection, synced=row, bundle=bundle, now=now)
                    row.status, row.last_synced_at = SyncedCourse.Status.OK, now
                    row.last_error = "; ".join(written.notes)[:500]
                    row.counts = {**written.counts, "written": written.written}
                    row.save()
                unavailable = 0
                result["synced"] += 1
                result["written"] += written.written
                result["events"] += written.events
                result["outcomes"].append(_outcome(row, "ok", written.written, row.last_error))
            except AccessRevoked:
                raise
            except (GoogleUnavailable, GoogleRefused, MalformedAnswer) as error:
                unavailable = unavailable + 1 if isinstance(error, GoogleUnavailable) else 0
                _course_failed(row, str(error), now)
                result["failed"] += 1
                result["outcomes"].append(_outcome(row, "failed", 0, str(error)))
            if progress is not None:
                progress(int(100 * (index + 1) / max(len(rows), 1)), f"{index + 1} of {len(rows)} courses")
    except AccessRevoked as error:
        connection_needs_reconnect(connection=connection, message=str(error))
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        result["requests"] = client.requests + sum(reader.requests for reader in readers)
    connection.last_sync_at = now
    connection.save(update_fields=["last_sync_at", "updated_at"])
    return result


def _outcome(row: SyncedCourse, status: str, written: int, error: str) -> CourseOutcome:
    return {
        "google_course_id": row.google_course_id,
        "name": row.name,
        "status": status,
        "written": written,
        "error": error,
    }


def _course_failed(row: SyncedCourse, message: str, now: datetime) -> None:
    logger.warning("google classroom course %s failed to sync: %s", row.google_course_id, message)
    SyncedCourse.objects.filter(pk=row.pk).update(
        status=SyncedCourse.Status.FAILED, last_error=message[:500], updated_at=now
    )


def connection_needs_reconnect(*, connection: Connection, message: str) -> None:
    """Google no longer accepts the connection's token: no sync tries again until the teacher reconnects."""
    Connection.objects.filter(pk=connection.pk).update(
        status=Connection.Status.NEEDS_RECONNECT, status_message=message[:300], updated_at=timezone.now()
    )
    connection.status = Connection.Status.NEEDS_RECONNECT
    connection.status_message = message[:300]
