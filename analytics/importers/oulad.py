"""Import of the Open University Learning Analytics Dataset (OULAD) into one organisation.

OULAD (CC BY 4.0, see ATTRIBUTION) holds 7 modules of The Open University, each taught in several presentations
(2013B, 2013J, 2014B, 2014J). A presentation becomes a course; VLE sites and assessments become learning items; a
student's daily clicks on a site become one `material_view` event; an assessment handed in becomes a submission and a
`quiz_submit` / `assignment_submit` event; a student's final result (pass, distinction, fail, withdrawn) becomes the
enrolment's `final_result`.

Dates in OULAD are day offsets from the start of a presentation, whose exact date is not published: only its month
(B = February, J = October). A presentation is taken to start on the 1st of that month, and every dated thing
happens at 12:00 Europe/London on its day, so it falls on the same local day whatever the offset.

Re-running is safe and adds nothing: every row is keyed by its OULAD id (external ids, pseudonymous usernames,
unique constraints) and every event by an id derived from its source row and time (ordered_event_id).
"""

import hashlib
import queue
import threading
import time as clock
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from accounts.models import Organization, Role, User
from accounts.services import organization_get_or_create, users_import
from analytics.models import Action, LearningEvent, Source
from analytics.services import ResolvedEvent, events_store, rollups_rebuild
from analytics.validation import EventIn
from classroom.models import Course, Enrollment, LearningItem, Module, Submission
from classroom.services import ItemSchedule, learning_items_schedule_fill, rows_import

ATTRIBUTION = (
    "Contains data from the Open University Learning Analytics Dataset (OULAD), CC BY 4.0: Kuzilek J., Hlosta M., "
    'Zdrahal Z. "Open University Learning Analytics dataset", Scientific Data 4:170171 (2017), '
    "doi:10.1038/sdata.2017.171. Data © The Open University."
)
ORGANIZATION_NAME = "Open University (OULAD)"
ORGANIZATION_SLUG = "oulad"
SOURCE = "oulad"
LONDON = ZoneInfo("Europe/London")
START_MONTHS = {"B": 2, "J": 10}
MAX_POINTS = Decimal(100)
# Events per events_store call, each its own transaction: large enough that per-statement overhead vanishes, small
# enough that a transaction stays short and the Python-side batch stays a few tens of MB.
EVENT_CHUNK = 25_000

LESSON_SITES = frozenset({"oucontent", "page", "subpage", "htmlactivity"})
ASSESSMENT_KINDS = {
    "TMA": LearningItem.Kind.ASSIGNMENT,
    "CMA": LearningItem.Kind.QUIZ,
    "Exam": LearningItem.Kind.ASSIGNMENT,
}
SUBMIT_ACTIONS = {LearningItem.Kind.QUIZ: Action.QUIZ_SUBMIT, LearningItem.Kind.ASSIGNMENT: Action.ASSIGNMENT_SUBMIT}

Progress = Callable[[str], None]


def site_kind(activity_type: str) -> str:
    if activity_type == "quiz":
        return LearningItem.Kind.QUIZ
    if activity_type in LESSON_SITES:
        return LearningItem.Kind.LESSON
    return LearningItem.Kind.RESOURCE


def presentation_start(code_presentation: str) -> date:
    """The 1st of the start month (the exact start day is not published)."""
    return date(int(code_presentation[:4]), START_MONTHS[code_presentation[4]], 1)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=LONDON).astimezone(UTC)


def assessment_week(offset: int | None) -> int:
    """Week 1 holds days 0-6 of the presentation; undated and pre-start assessments go to week 0."""
    if offset is None or offset < 0:
        return 0
    return offset // 7 + 1


def week_title(week: int) -> str:
    return "Before week 1 / general" if week == 0 else f"Week {week}"


def ordered_event_id(moment: datetime, name: str) -> uuid.UUID:
    """The id of an imported event: deterministic, and sorting by time.

    RFC 9562 version 8 in UUIDv7's layout: 48 bits of Unix milliseconds of `moment`, then 74 bits of a BLAKE2b hash
    of `name` (a description of the source row, fixed forever: re-imports rely on getting the same ids). An import
    then adds event keys in time order, near the right edge of analytics_eventkey's index, instead of at random
    places: 4.5 instead of 11-24 us per key measured at 5.8M keys (uuid5 ids cost 60 s of an OULAD import).
    """
    digest = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=10).digest())
    millis = int(moment.timestamp() * 1000) & (2**48 - 1)
    return uuid.UUID(int=millis << 80 | 0x8 << 76 | (digest >> 62 & 0xFFF) << 64 | 0b10 << 62 | digest & (2**62 - 1))


def click_event_id(module: str, presentation: str, student: int, site: int, offset: int, moment: datetime) -> uuid.UUID:
    return ordered_event_id(moment, f"oulad:vle:{module}:{presentation}:{student}:{site}:{offset}")


def submission_event_id(assessment: int, student: int, moment: datetime) -> uuid.UUID:
    return ordered_event_id(moment, f"oulad:assessment:{assessment}:{student}")


@dataclass(frozen=True)
class Presentation:
    module: str
    presentation: str
    length_days: int

    @property
    def code(self) -> str:
        return f"{self.module}-{self.presentation}"

    @property
    def start(self) -> date:
        return presentation_start(self.presentation)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.length_days)

    def moment(self, offset: int) -> datetime:
        return at_noon(self.start + timedelta(days=offset))


@dataclass
class ImportResult:
    created: dict[str, int] = field(default_factory=dict)
    events_added: int = 0
    events_duplicate: int = 0
    click_rows: int = 0
    click_events: int = 0
    skipped_clicks: int = 0
    first_day: date | None = None
    last_day: date | None = None
    seconds: float = 0.0


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _columns(table: Any, names: Iterable[str]) -> Iterator[tuple[Any, ...]]:
    """Rows of `table` as tuples, built from one Python list per column (far cheaper than to_pylist of rows)."""
    return zip(*(table.column(name).to_pylist() for name in names), strict=True)


def _read(path: Path, name: str, columns: list[str]) -> Any:
    return pq.read_table(path / f"{name}.parquet", columns=columns)


def _select(rows: Iterable[tuple[Any, ...]], keys: dict[tuple[str, str], Any]) -> Iterator[tuple[Any, ...]]:
    """Rows whose first two values (code_module, code_presentation) name a selected presentation."""
    return (row for row in rows if (row[0], row[1]) in keys)


def _counts(organization: Organization) -> dict[str, int]:
    return {
        "courses": Course.objects.filter(organization=organization).count(),
        "modules": Module.objects.filter(course__organization=organization).count(),
        "items": LearningItem.objects.filter(module__course__organization=organization).count(),
        "students": User.objects.filter(organization=organization).count(),
        "enrollments": Enrollment.objects.filter(course__organization=organization).count(),
        "submissions": Submission.objects.filter(item__module__course__organization=organization).count(),
    }


def organization_for_oulad() -> Organization:
    return organization_get_or_create(slug=ORGANIZATION_SLUG, name=ORGANIZATION_NAME, time_zone="Europe/London")


def _presentations(
    path: Path, modules: set[str] | None, presentations: set[str] | None
) -> dict[tuple[str, str], Presentation]:
    table = _read(path, "courses", ["code_module", "code_presentation", "module_presentation_length"])
    found = {}
    for module, presentation, length in _columns(
        table, ["code_module", "code_presentation", "module_presentation_length"]
    ):
        if (modules is None or module in modules) and (presentations is None or presentation in presentations):
            found[(module, presentation)] = Presentation(module, presentation, int(length))
    return dict(sorted(found.items()))


def _import_courses(
    organization: Organization, selected: dict[tuple[str, str], Presentation]
) -> dict[tuple[str, str], Course]:
    rows_import(
        rows=[
            Course(
                organization=organization,
                title=f"OULAD {p.module} {p.presentation}",
                code=p.code,
                subject=f"Open University module {p.module}",
                start_date=p.start,
                end_date=p.end,
                time_zone="Europe/London",
                external_source=SOURCE,
                external_id=p.code,
            )
            for p in selected.values()
        ]
    )
    by_code = {
        course.external_id: course
        for course in Course.objects.filter(
            organization=organization, external_source=SOURCE, external_id__in=[p.code for p in selected.values()]
        )
    }
    return {key: by_code[p.code] for key, p in selected.items()}


@dataclass(frozen=True)
class AssessmentInfo:
    key: tuple[str, str]
    item_id: int
    kind: str
    due_at: datetime | None


def _import_structure(
    path: Path, selected: dict[tuple[str, str], Presentation], courses: dict[tuple[str, str], Course]
) -> tuple[dict[int, int], dict[int, AssessmentInfo]]:
    """Modules (one per week) and items (VLE sites and assessments). Returns id_site → item id and
    id_assessment → what a submission needs.

    Each item keeps its source's type and planned weeks: a VLE site its activity_type and week_from / week_to, an
    assessment its type (TMA, CMA, Exam) and the week of its due date as both weeks (none when undated). Items of an
    earlier import that lack them get them filled in (learning_items_schedule_fill)."""
    vle_columns = ["code_module", "code_presentation", "id_site", "activity_type", "week_from", "week_to"]
    sites = [
        (module, presentation, int(site), activity, _int(week), _int(last_week))
        for module, presentation, site, activity, week, last_week in _select(
            _columns(_read(path, "vle", vle_columns), vle_columns), selected
        )
    ]
    assessment_columns = ["code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight"]
    assessments = [
        (module, presentation, int(assessment), kind, _int(offset), weight)
        for module, presentation, assessment, kind, offset, weight in _select(
            _columns(_read(path, "assessments", assessment_columns), assessment_columns), selected
        )
    ]

    weeks: set[tuple[tuple[str, str], int]] = {((m, p), week or 0) for m, p, _, _, week, _ in sites}
    weeks |= {((m, p), assessment_week(offset)) for m, p, _, _, offset, _ in assessments}
    rows_import(
        rows=[
            Module(
                course=courses[key],
                title=week_title(week),
                position=week + 1,
                external_source=SOURCE,
                external_id=f"{selected[key].code}-week-{week}",
            )
            for key, week in sorted(weeks)
        ]
    )
    course_keys = {course.pk: key for key, course in courses.items()}
    module_ids = {
        (course_keys[course_id], position - 1): module_id
        for module_id, course_id, position in Module.objects.filter(course__in=courses.values()).values_list(
            "id", "course_id", "position"
        )
    }

    schedules = {
        str(site): ItemSchedule(activity_type=activity, week_from=week, week_to=last_week)
        for _, _, site, activity, week, last_week in sites
    }
    for _, _, assessment, kind, offset, _ in assessments:
        due_week = None if offset is None else assessment_week(offset)
        schedules[f"assessment-{assessment}"] = ItemSchedule(activity_type=kind, week_from=due_week, week_to=due_week)
    items = [
        LearningItem(
            module_id=module_ids[((m, p), week or 0)],
            kind=site_kind(activity),
            title=f"{activity} {site}",
            position=position,
            external_source=SOURCE,
            external_id=str(site),
        )
        for position, (m, p, site, activity, week, _) in enumerate(sorted(sites, key=lambda row: row[2]), start=1)
    ]
    items += [
        LearningItem(
            module_id=module_ids[((m, p), assessment_week(offset))],
            kind=ASSESSMENT_KINDS[kind],
            title=f"{kind} {assessment}" + (f" (weight {weight:g}%)" if weight is not None else ""),
            position=0,
            max_points=MAX_POINTS,
            due_at=None if offset is None else selected[(m, p)].moment(offset),
            external_source=SOURCE,
            external_id=f"assessment-{assessment}",
        )
        for m, p, assessment, kind, offset, weight in assessments
    ]
    for item in items:
        schedule = schedules[item.external_id]
        item.activity_type, item.week_from, item.week_to = schedule.activity_type, schedule.week_from, schedule.week_to
    rows_import(rows=items)

    stored = LearningItem.objects.filter(module__course__in=courses.values(), external_source=SOURCE).values_list(
        "id", "external_id", "kind", "due_at", "module__course_id"
    )
    site_items: dict[int, int] = {}
    assessment_items: dict[int, AssessmentInfo] = {}
    found: dict[int, ItemSchedule] = {}
    for item_id, external_id, kind, due_at, course_id in stored:
        if external_id in schedules:
            found[item_id] = schedules[external_id]
        if external_id.startswith("assessment-"):
            assessment_items[int(external_id.removeprefix("assessment-"))] = AssessmentInfo(
                course_keys[course_id], item_id, kind, due_at
            )
        else:
            site_items[int(external_id)] = item_id
    # A database imported before items had these fields: fill them in (existing values stay).
    learning_items_schedule_fill(found=found)
    return site_items, assessment_items


def _import_students(organization: Organization, student_ids: set[int]) -> dict[int, int]:
    """Pseudonymous accounts, `oulad-<id_student>`: no name, no email, no usable password. Returns id → User.pk."""
    prefix = "oulad-"
    unusable = make_password(None)  # one random unusable hash is as good as one per account, and 20k times faster
    users: dict[int, int] = {}
    for _ in range(5):
        wanted = sorted(student_ids - users.keys())
        if not wanted:
            break
        # ignore_conflicts also skips an account whose random public handle collided with an existing one; the
        # next round creates it again with a new handle.
        users_import(
            users=[
                User(username=f"{prefix}{student}", organization=organization, role=Role.STUDENT, password=unusable)
                for student in wanted
            ]
        )
        users = {
            int(username.removeprefix(prefix)): pk
            for pk, username in User.objects.filter(organization=organization, username__startswith=prefix).values_list(
                "id", "username"
            )
        }
    missing = student_ids - users.keys()
    if missing:
        raise RuntimeError(f"Could not create accounts for {len(missing)} OULAD students, e.g. {min(missing)}.")
    return users


def _import_enrollments(
    registrations: list[tuple[tuple[str, str], int, int | None, int | None]],
    selected: dict[tuple[str, str], Presentation],
    courses: dict[tuple[str, str], Course],
    users: dict[int, int],
) -> None:
    # History rows (dropped, completed) have no unique constraint, so existing pairs are skipped explicitly.
    existing = set(
        Enrollment.objects.filter(course__in=courses.values(), role=Enrollment.Role.STUDENT).values_list(
            "user_id", "course_id"
        )
    )
    new = []
    for key, student, registered, unregistered in registrations:
        presentation, course, user_id = selected[key], courses[key], users[student]
        if (user_id, course.pk) in existing:
            continue
        enrolled_at = presentation.moment(registered or 0)
        if unregistered is not None:
            status, ended_at = Enrollment.Status.DROPPED, max(enrolled_at, presentation.moment(unregistered))
        else:  # every presentation in OULAD is over
            status, ended_at = Enrollment.Status.COMPLETED, max(enrolled_at, at_noon(presentation.end))
        new.append(
            Enrollment(
                user_id=user_id,
                course=course,
                role=Enrollment.Role.STUDENT,
                status=status,
                enrolled_at=enrolled_at,
                ended_at=ended_at,
            )
        )
    rows_import(rows=new)


def _import_results(
    path: Path,
    registrations: list[tuple[tuple[str, str], int, int | None, int | None]],
    selected: dict[tuple[str, str], Presentation],
    courses: dict[tuple[str, str], Course],
    users: dict[int, int],
) -> None:
    """Each enrolment's final result from studentInfo: withdrawn dated from date_unregistration, the others at the
    presentation's end. Only blank results are filled, so a re-run on a database imported before results existed
    fills them in, and a result a member of staff set is kept."""
    unregistered_on = {(key, student): unregistered for key, student, _, unregistered in registrations}
    columns = ["code_module", "code_presentation", "id_student", "final_result"]
    user_ids, course_ids, results, moments = [], [], [], []
    for module, presentation, student, final_result in _select(
        _columns(_read(path, "studentInfo", columns), columns), selected
    ):
        key, student = (module, presentation), int(student)
        if student not in users or not final_result:
            continue
        result = str(final_result).lower()
        unregistered = unregistered_on.get((key, student))
        if result == Enrollment.FinalResult.WITHDRAWN and unregistered is not None:
            moment = selected[key].moment(unregistered)
        else:
            moment = at_noon(selected[key].end)
        user_ids.append(users[student])
        course_ids.append(courses[key].pk)
        results.append(Enrollment.FinalResult(result).value)
        moments.append(moment)
    with connection.cursor() as cursor:
        # One set-based statement for ~32 000 rows (bulk_update would build a CASE per row).
        cursor.execute(
            """
            UPDATE classroom_enrollment AS enrollment
               SET final_result = result.final_result, result_at = result.result_at
              FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[])
                   AS result(user_id, course_id, final_result, result_at)
             WHERE enrollment.user_id = result.user_id AND enrollment.course_id = result.course_id
               AND enrollment.role = 'student' AND enrollment.final_result = ''
            """,
            [user_ids, course_ids, results, moments],
        )


class EventWriter:
    """Collects events and stores them EVENT_CHUNK at a time, remembering the range of local days touched."""

    def __init__(self, *, organization_id: int, received_at: datetime, result: ImportResult) -> None:
        self.organization_id = organization_id
        self.received_at = received_at
        self.result = result
        self.pending: list[ResolvedEvent] = []

    def add(self, event: EventIn, actor_id: int) -> None:
        self.pending.append(ResolvedEvent(event, actor_id, self.organization_id))
        if len(self.pending) >= EVENT_CHUNK:
            self.flush()

    def note_days(self, first: date, last: date) -> None:
        result = self.result
        result.first_day = first if result.first_day is None else min(result.first_day, first)
        result.last_day = last if result.last_day is None else max(result.last_day, last)

    def flush(self) -> None:
        self.store(self.pending)
        self.pending = []

    def store(self, events: list[ResolvedEvent]) -> None:
        """Store one chunk in its own transaction (events_store opens it)."""
        if not events:
            return
        added, duplicates = events_store(
            events=events, received_at=self.received_at, source=Source.IMPORT, update_rollups=False
        )
        self.result.events_added += added
        self.result.events_duplicate += duplicates


def _import_submissions(
    path: Path,
    users: dict[int, int],
    assessments: dict[int, AssessmentInfo],
    selected: dict[tuple[str, str], Presentation],
    course_ids: dict[tuple[str, str], int],
    writer: EventWriter,
) -> None:
    columns = ["id_assessment", "id_student", "date_submitted", "is_banked", "score"]
    submissions = []
    for assessment, student, offset, banked, score in _columns(_read(path, "studentAssessment", columns), columns):
        info = assessments.get(int(assessment))
        if info is None:  # an assessment of a presentation not selected
            continue
        presentation = selected[info.key]
        submitted_at = presentation.moment(int(offset))
        points = None if score is None else Decimal(str(score))
        on_time = info.due_at is None or submitted_at <= info.due_at
        user_id = users[int(student)]
        submissions.append(
            Submission(
                item_id=info.item_id,
                student_id=user_id,
                attempt=1,
                submitted_at=submitted_at,
                state=Submission.State.ON_TIME if on_time else Submission.State.LATE,
                score=points,
                max_points=MAX_POINTS,
            )
        )
        writer.add(
            EventIn(
                event_id=submission_event_id(int(assessment), int(student), submitted_at),
                action=SUBMIT_ACTIONS[LearningItem.Kind(info.kind)],
                occurred_at=submitted_at,
                course_id=course_ids[info.key],
                item_id=info.item_id,
                score_raw=points,
                score_max=None if points is None else MAX_POINTS,
                metadata={"banked": True} if banked else {},
            ),
            user_id,
        )
        day = presentation.start + timedelta(days=int(offset))
        writer.note_days(day, day)
    rows_import(rows=submissions)
    writer.flush()


def _click_files(path: Path, presentation: Presentation) -> list[Path]:
    folder = (
        path / "studentVle_ds" / f"code_module={presentation.module}" / f"code_presentation={presentation.presentation}"
    )
    return sorted(folder.glob("*.parquet"))


def _build_click_chunks(
    *,
    grouped: Any,
    presentation: Presentation,
    course_id: int,
    organization_id: int,
    users: dict[int, int],
    site_items: dict[int, int],
    out: "queue.Queue[tuple[list[ResolvedEvent], int] | None]",
    errors: list[BaseException],
) -> None:
    """Put (events, source rows) chunks of `grouped` on `out`, then None. Touches no database."""
    moments: dict[int, datetime] = {}
    module, code_presentation = presentation.module, presentation.presentation
    try:
        for start in range(0, grouped.num_rows, EVENT_CHUNK):
            part = grouped.slice(start, EVENT_CHUNK)
            students, sites, days, clicks = (
                pc.cast(part.column(name), pa.int64()).to_pylist()
                for name in ("id_student", "id_site", "date", "sum_click_sum")
            )
            batch = []
            for student, site, offset, count in zip(students, sites, days, clicks, strict=True):
                actor_id = users.get(student)
                item_id = site_items.get(site)
                if actor_id is None or item_id is None:
                    continue
                moment = moments.get(offset)
                if moment is None:
                    moment = moments[offset] = presentation.moment(offset)
                event = EventIn(
                    event_id=click_event_id(module, code_presentation, student, site, offset, moment),
                    action=Action.MATERIAL_VIEW,
                    occurred_at=moment,
                    course_id=course_id,
                    item_id=item_id,
                    metadata={"clicks": count},
                )
                batch.append(ResolvedEvent(event, actor_id, organization_id))
            out.put((batch, len(part)))
    except BaseException as error:  # handed to the storing thread, which re-raises it
        errors.append(error)
    finally:
        out.put(None)


def _import_clicks(
    path: Path,
    presentation: Presentation,
    course_id: int,
    users: dict[int, int],
    site_items: dict[int, int],
    writer: EventWriter,
    progress: Progress,
) -> None:
    """One presentation's clicks: one `material_view` event per (student, site, day), clicks summed.

    The table is grouped by pyarrow (in C), so repeated source rows collapse into one event before any Python object
    exists; then it is turned into Python values one slice at a time to keep memory flat.
    """
    files = _click_files(path, presentation)
    if not files:
        progress(f"{presentation.code}: no click file, skipped")
        return
    columns = ["id_student", "id_site", "date", "sum_click"]
    raw = pa.concat_tables([pq.read_table(file, columns=columns) for file in files])
    rows = raw.num_rows
    grouped = raw.group_by(["id_student", "id_site", "date"]).aggregate([("sum_click", "sum")])
    del raw
    # Day order: each chunk then lands in one or two monthly partitions and extends their BRIN range in order.
    grouped = grouped.sort_by([("date", "ascending"), ("id_student", "ascending"), ("id_site", "ascending")])
    total = grouped.num_rows
    offsets = pc.min_max(grouped.column("date")).as_py()
    if total:
        writer.note_days(
            presentation.start + timedelta(days=int(offsets["min"])),
            presentation.start + timedelta(days=int(offsets["max"])),
        )
    started = clock.monotonic()
    done = 0
    # Building events is pure Python and storing them is mostly waiting for PostgreSQL (which releases the GIL), so
    # a thread builds the next chunk while this one stores the previous: the two cores work at once.
    chunks: queue.Queue[tuple[list[ResolvedEvent], int] | None] = queue.Queue(maxsize=2)
    errors: list[BaseException] = []
    builder = threading.Thread(
        target=_build_click_chunks,
        kwargs={
            "grouped": grouped,
            "presentation": presentation,
            "course_id": course_id,
            "organization_id": writer.organization_id,
            "users": users,
            "site_items": site_items,
            "out": chunks,
            "errors": errors,
        },
        daemon=True,
    )
    builder.start()
    while (chunk := chunks.get()) is not None:
        batch, rows_in_chunk = chunk
        writer.result.skipped_clicks += rows_in_chunk - len(batch)
        writer.store(batch)
        done += rows_in_chunk
        elapsed = clock.monotonic() - started
        progress(f"{presentation.code}: {done:,}/{total:,} events ({done / max(elapsed, 1e-6):,.0f}/s)")
    builder.join()
    if errors:
        raise errors[0]
    writer.result.click_rows += rows
    writer.result.click_events += total


def oulad_import(
    *,
    path: Path,
    modules: set[str] | None = None,
    presentations: set[str] | None = None,
    rollups: bool = True,
    now: datetime,
    progress: Progress = lambda line: None,
) -> ImportResult:
    """Import OULAD (or the selected modules / presentations) from the Parquet copy at `path`."""
    started = clock.monotonic()
    result = ImportResult()
    selected = _presentations(path, modules, presentations)
    if not selected:
        raise ValueError("No OULAD presentation matches the selection.")
    organization = organization_for_oulad()
    before = _counts(organization)
    with connection.cursor() as cursor:
        # For this session only. Not waiting for each commit's WAL flush is safe here: a crash loses at most the
        # last chunks, and re-running the import writes exactly those again. The rollup rebuild sorts millions of
        # rows; more memory per sort keeps them off disk.
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SET work_mem TO '64MB'")
    try:
        _import_all(path, selected, organization, rollups, now, progress, result)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
            cursor.execute("RESET work_mem")
    after = _counts(organization)
    result.created = {name: after[name] - before[name] for name in after}
    result.seconds = clock.monotonic() - started
    return result


def _import_all(
    path: Path,
    selected: dict[tuple[str, str], Presentation],
    organization: Organization,
    rollups: bool,
    now: datetime,
    progress: Progress,
    result: ImportResult,
) -> None:
    with transaction.atomic():
        courses = _import_courses(organization, selected)
        site_items, assessment_items = _import_structure(path, selected, courses)
        columns = ["code_module", "code_presentation", "id_student", "date_registration", "date_unregistration"]
        registrations = [
            ((module, presentation), int(student), _int(registered), _int(unregistered))
            for module, presentation, student, registered, unregistered in _select(
                _columns(_read(path, "studentRegistration", columns), columns), selected
            )
        ]
        users = _import_students(organization, {student for _, student, _, _ in registrations})
        _import_enrollments(registrations, selected, courses, users)
        _import_results(path, registrations, selected, courses, users)
    progress(
        f"Structure: {len(courses)} courses, {len(site_items) + len(assessment_items)} items, {len(users)} students"
    )

    course_ids = {key: course.pk for key, course in courses.items()}
    writer = EventWriter(organization_id=organization.pk, received_at=now, result=result)
    _import_submissions(path, users, assessment_items, selected, course_ids, writer)
    progress(f"Submissions: {result.events_added:,} events added")
    for key, presentation in selected.items():
        _import_clicks(path, presentation, course_ids[key], users, site_items, writer, progress)

    if rollups and result.first_day is not None and result.last_day is not None:
        progress(f"Rebuilding daily rollups {result.first_day} .. {result.last_day}")
        # A quarter per transaction: each chunk's DELETE scans the rollup tables by day, so few chunks are faster.
        rollups_rebuild(since=result.first_day, until=result.last_day, chunk_days=92, resume=False)


def oulad_event_count(organization: Organization) -> int:
    return LearningEvent.objects.filter(organization=organization).count()
