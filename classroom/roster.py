"""Roster import: people (username, email, names, role) and their enrolments by course code, from a CSV file, into
one organisation (docs/roster-csv.md describes the file; docs/examples/roster.csv is one).

- A **dry run** reads the file and says, line by line, who would be created, what would change, which enrolments
  would be added and which lines are refused and why; it writes nothing.
- **Applying** does the same checks again inside one transaction and writes only when no line is refused: a file
  with any bad line applies nothing and names each bad line. A line whose person and enrolments are already as the
  file says does nothing, so applying a file twice changes nothing the second time.
- The import adds and updates; it never drops an enrolment or deletes anyone (that is done one by one, in admin or
  through the API), and it never changes a role or moves someone between organisations.

Every read and write is set-based (one query per table for the checks; one INSERT per table per batch, one UPDATE
per batch), so a 5 000-student file takes seconds (bench/roster_import.py). People are created and changed through
accounts.services, which owns them. Files of more than INLINE_ROWS lines run as a job (core.jobs) through
`classroom.tasks.roster_import_run` when the API receives them.
"""

import csv
import io
import logging
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal, TypedDict, cast

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization, Role, User
from accounts.services import (
    ROSTER_CHANGEABLE,
    external_pair_error,
    user_fields_clean,
    users_create_many,
    users_update_many,
)
from classroom.models import Course, Enrollment
from core.exceptions import ApplicationError
from core.jobs import job_create, job_fail, job_finish, job_progress, job_start
from core.models import Job

logger = logging.getLogger(__name__)

HEADER = ("username", "email", "first_name", "last_name", "role", "courses")
# Columns a file may add: the person's id in the school's LMS, so integrations can name them by it. Left empty on a
# line, they leave an existing person's id as it is.
OPTIONAL_COLUMNS = ("external_source", "external_id")
EXTERNAL = ("external_source", "external_id")
COURSE_SEPARATOR = ";"
ROLES = (Role.STUDENT.value, Role.TEACHER.value, Role.ADMIN.value)
# The API reads bodies up to settings.API_MAX_BODY_BYTES (1 MiB) as well: about 10 000 people with a few courses each.
MAX_FILE_BYTES = 1024 * 1024
# A line longer than this is not a roster line (each column fits in 254 characters; a few dozen course codes).
MAX_LINE_CHARACTERS = 2_000
# Above this many people the API answers 202 and runs the import as a job; below it answers at once (a 500-line
# file takes well under a second).
INLINE_ROWS = 500
JOB_KIND = "roster_import"
# The errors of a refused apply name at most this many lines in the 400 answer (the dry run lists every one).
ERRORS_SHOWN = 1_000


# SECTION: the answer


class RosterChange(TypedDict):
    field: Annotated[str, "email, first_name, last_name, external_source or external_id."]
    before: str
    after: str


class RosterLine(TypedDict):
    line: Annotated[int, "The line of the file (the header is line 1)."]
    username: str
    outcome: Annotated[
        Literal["create", "change", "refuse"],
        "create: a new person; change: new details or enrolments for an existing one; refuse: see errors.",
    ]
    changes: Annotated[list[RosterChange], "Details of an existing person that change."]
    enrol: Annotated[list[str], "Codes of the courses this line enrols the person in."]
    errors: Annotated[list[str], "Why the line is refused (nothing of the file is applied while any line is)."]


class RosterSummary(TypedDict):
    lines: Annotated[int, "People lines read (the header and blank lines not counted)."]
    created: Annotated[int, "People created."]
    changed: Annotated[int, "Existing people whose email or name changes."]
    enrolled: Annotated[int, "Enrolments added."]
    unchanged: Annotated[int, "Lines with nothing to do: the person and their enrolments are as the file says."]
    refused: Annotated[int, "Lines refused."]


class RosterImportResult(TypedDict):
    dry_run: Annotated[bool, "True: nothing was written, this is what applying would do."]
    applied: Annotated[bool, "True: the changes below were written."]
    summary: RosterSummary
    lines: Annotated[
        list[RosterLine], "Every line that creates, changes or is refused, in file order (unchanged lines are counted)."
    ]


class RosterFileError(ApplicationError):
    """The file as a whole cannot be read (size, encoding, header): no line is looked at."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("The roster file cannot be read; nothing was applied.", errors={"csv": messages})


class RosterRefused(ApplicationError):
    """Lines of the file are refused: nothing is applied; `result` is the dry run that names each of them."""

    def __init__(self, result: RosterImportResult) -> None:
        refused = [line for line in result["lines"] if line["outcome"] == "refuse"]
        messages = [f"line {line['line']}: {error}" for line in refused for error in line["errors"]]
        if len(messages) > ERRORS_SHOWN:
            messages = [*messages[:ERRORS_SHOWN], f"... and {len(messages) - ERRORS_SHOWN} more (see the dry run)."]
        super().__init__(
            f"{len(refused)} line(s) of the roster are refused; nothing was applied. Fix them and import again.",
            errors={"csv": messages},
        )
        self.result = result


# SECTION: reading the file


@dataclass
class RosterRow:
    line: int
    values: dict[str, str]  # accounts.services.ROSTER_FIELDS, as user_create would store them
    course_codes: list[str]
    errors: list[str] = field(default_factory=list)

    @property
    def username(self) -> str:
        return self.values["username"]


def roster_parse(data: bytes) -> list[RosterRow]:
    """The file's people lines, each with the errors found in it alone (and against the other lines: a username or
    email given twice). Raises RosterFileError when the file as a whole cannot be read."""
    if len(data) > MAX_FILE_BYTES:
        raise RosterFileError(
            [f"The file has {len(data):,} bytes; at most {MAX_FILE_BYTES:,} are read. Split it into several files."]
        )
    text = decoded(data)
    records = csv_records(text)
    header_line, header = next(((line, fields) for line, fields, _ in records if any(fields)), (0, []))
    if not header_line:
        raise RosterFileError([f"The file is empty; its first line must be the header {','.join(HEADER)}."])
    columns = header_columns(header_line, header)
    rows = [
        row_of(line, fields, columns, error)
        for line, fields, error in records
        if line > header_line and (error or any(value.strip() for value in fields))
    ]
    if not rows:
        raise RosterFileError(["The file has a header but no people: add one line per person."])
    mark_repeats(rows, "username", lambda row: row.username.casefold())
    mark_repeats(rows, "email", lambda row: row.values["email"].casefold())
    mark_repeats(rows, "external_id", external_key)
    return rows


def external_key(row: RosterRow) -> str:
    """The person's LMS id with its source, or "" when the line gives none."""
    source, external_id = row.values["external_source"], row.values["external_id"]
    return f"{source}\x00{external_id}" if external_id else ""


def decoded(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is allowed); otherwise an error naming each line that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    bad = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            bad.append(f"line {number}: not UTF-8 text (byte 0x{raw[error.start]:02X} at character {error.start + 1}).")
    bad.append("Save the file as UTF-8 (in Excel: CSV UTF-8) and import it again.")
    raise RosterFileError(bad)


def csv_records(text: str) -> list[tuple[int, list[str], str]]:
    """(first line, fields, error) per CSV record; error is why the record cannot be read (then fields is empty)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str], str]] = []
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            records.append((line, [], f"cannot be read as CSV ({error}); quote a value that holds a comma or a quote."))
            continue
        records.append((line, fields, ""))


def header_columns(line: int, header: list[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    known = HEADER + OPTIONAL_COLUMNS
    missing = [name for name in HEADER if name not in names]
    unknown = [name for name in names if name not in known]
    repeated = sorted({name for name in names if name in known and names.count(name) > 1})
    if missing or unknown or repeated:
        problems = [
            *([f"missing: {', '.join(missing)}"] if missing else []),
            *([f"unknown: {', '.join(repr(name) for name in unknown)}"] if unknown else []),
            *([f"repeated: {', '.join(repeated)}"] if repeated else []),
        ]
        raise RosterFileError(
            [
                f"line {line}: the header must name the columns {','.join(HEADER)} (in any order, optionally "
                f"with {','.join(OPTIONAL_COLUMNS)}); {'; '.join(problems)}."
            ]
        )
    return {name: names.index(name) for name in known if name in names}


def row_of(line: int, fields: list[str], columns: dict[str, int], error: str) -> RosterRow:
    empty = dict.fromkeys(("username", "email", "first_name", "last_name", "role", *EXTERNAL), "")
    if error:
        return RosterRow(line=line, values=empty, course_codes=[], errors=[error])
    if sum(len(value) + 1 for value in fields) > MAX_LINE_CHARACTERS:
        return RosterRow(
            line=line, values=empty, course_codes=[], errors=[f"longer than {MAX_LINE_CHARACTERS} characters."]
        )
    if len(fields) != len(columns):
        return RosterRow(
            line=line,
            values=empty,
            course_codes=[],
            errors=[f"{len(fields)} values where the header has {len(columns)}; quote a value that holds a comma."],
        )
    raw = {name: fields[position].strip() for name, position in columns.items()}
    raw |= {name: "" for name in OPTIONAL_COLUMNS if name not in raw}
    errors = [
        f"`{name}` holds a control character (a line break or tab, say)."
        for name, value in raw.items()
        if any(unicodedata.category(character) == "Cc" for character in value)
    ]
    role = raw["role"].lower()
    if role not in ROLES:
        errors.append(f"`role` must be one of: {', '.join(ROLES)} (not {raw['role']!r}).")
    # an unknown role is reported above; the account's other fields are still checked, as a student's
    values, field_errors = user_fields_clean(values={**raw, "role": role if role in ROLES else Role.STUDENT})
    values["role"] = role
    errors += [f"`{name}`: {message}" for name, messages in field_errors.items() for message in messages]
    pair = external_pair_error(external_source=values["external_source"], external_id=values["external_id"])
    errors += [pair] if pair else []
    codes = list(dict.fromkeys(code.strip() for code in raw["courses"].split(COURSE_SEPARATOR) if code.strip()))
    return RosterRow(line=line, values=values, course_codes=codes, errors=errors)


def mark_repeats(rows: list[RosterRow], name: str, key: Callable[[RosterRow], str]) -> None:
    """A username or email on several lines refuses each of them, naming the others (case does not make two)."""
    lines_of: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if key(row):
            lines_of[key(row)].append(row.line)
    for row in rows:
        lines = lines_of.get(key(row), []) if key(row) else []
        if len(lines) > 1:
            others = ", ".join(str(line) for line in lines if line != row.line)
            row.errors.append(f"`{name}` {row.values[name]!r} is also on line(s) {others}.")


# SECTION: what the file would do


@dataclass
class RosterPlan:
    organization: Organization
    rows: list[RosterRow]
    lines: list[RosterLine] = field(default_factory=list)
    unchanged: int = 0
    new_people: list[dict[str, str]] = field(default_factory=list)
    changed_people: list[User] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    # (user id, or the username of a person created by this import; course id; enrolment role)
    new_enrolments: list[tuple[int | str, int, str]] = field(default_factory=list)

    @property
    def refused(self) -> int:
        return sum(1 for line in self.lines if line["outcome"] == "refuse")

    def answer(self, *, dry_run: bool, applied: bool) -> RosterImportResult:
        return {
            "dry_run": dry_run,
            "applied": applied,
            "summary": {
                "lines": len(self.rows),
                "created": len(self.new_people),
                "changed": len(self.changed_people),
                "enrolled": len(self.new_enrolments),
                "unchanged": self.unchanged,
                "refused": self.refused,
            },
            "lines": self.lines,
        }


def enrolment_role(role: str) -> str:
    """Students attend; teachers and administrators teach (classroom.services.enrollment_create's rule)."""
    return Enrollment.Role.STUDENT if role == Role.STUDENT else Enrollment.Role.TEACHER


def roster_plan(*, organization: Organization, rows: Sequence[RosterRow]) -> RosterPlan:
    """Each line checked against the organisation's people, courses and enrolments (four queries in all)."""
    usernames = {row.username for row in rows if row.username}
    emails = {row.values["email"].lower() for row in rows if row.values["email"]}
    codes = {code for row in rows for code in row.course_codes}
    fields = ["id", "username", "email", "first_name", "last_name", "role", "organization_id"]
    fields += ["is_staff", "is_superuser", *EXTERNAL]
    by_username = {user.username: user for user in User.objects.filter(username__in=usernames).only(*fields)}
    by_email: dict[str, User] = {
        user.email.lower(): user
        for user in User.objects.annotate(email_lower=Lower("email"))
        .filter(~Q(email=""), email_lower__in=emails)
        .only(*fields)
    }
    external_ids = {row.values["external_id"] for row in rows if row.values["external_id"]}
    by_external = {
        (user.external_source, user.external_id): user
        for user in User.objects.filter(organization=organization, external_id__in=external_ids).only(*fields)
    }
    course_ids = dict(
        Course.objects.filter(organization=organization, code__in=codes).values_list("code", "id").order_by()
    )
    members = [user.pk for user in by_username.values() if user.organization_id == organization.pk]
    enrolled = set(
        Enrollment.objects.filter(
            user_id__in=members, course_id__in=course_ids.values(), status=Enrollment.Status.ACTIVE
        ).values_list("user_id", "course_id")
    )
    plan = RosterPlan(organization=organization, rows=list(rows))
    for row in rows:
        plan_row(plan, row, by_username.get(row.username), by_email, by_external, course_ids, enrolled)
    return plan


def plan_row(
    plan: RosterPlan,
    row: RosterRow,
    existing: User | None,
    by_email: dict[str, User],
    by_external: dict[tuple[str, str], User],
    course_ids: dict[str, int],
    enrolled: set[tuple[int, int]],
) -> None:
    values, errors = row.values, list(row.errors)
    email_owner = by_email.get(values["email"].lower()) if values["email"] else None
    organization_id = plan.organization.pk
    if existing is not None and existing.organization_id != organization_id:
        errors.append(f"`username` {row.username!r} is already taken by an account outside this school.")
    elif existing is not None and (existing.is_staff or existing.is_superuser):
        errors.append(f"{row.username!r} is a platform operator's account: change it in Django admin, not by import.")
    elif existing is not None and values["role"] in ROLES and existing.role != values["role"]:
        errors.append(
            f"{row.username!r} is a {existing.role} and the file says {values['role']}: "
            "an import does not change roles."
        )
    if email_owner is not None and (existing is None or email_owner.pk != existing.pk):
        if email_owner.organization_id != organization_id:
            errors.append(f"`email` {values['email']!r} is already used by an account outside this school.")
        elif existing is None:
            errors.append(
                f"`email` {values['email']!r} belongs to {email_owner.username!r} in this school: use that username, "
                "or another email."
            )
        else:
            errors.append(
                f"`username` and `email` name two different people: {row.username!r} and {email_owner.username!r}."
            )
    external_owner = by_external.get((values["external_source"], values["external_id"]))
    if external_owner is not None and (existing is None or external_owner.pk != existing.pk):
        errors.append(
            f"`external_id` {values['external_id']!r} of {values['external_source']!r} belongs to "
            f"{external_owner.username!r} in this school."
        )
    unknown = [code for code in row.course_codes if code not in course_ids]
    if unknown:
        errors.append(f"no course of this school has the code {', '.join(repr(code) for code in unknown)}.")
    if errors:
        plan.lines.append(line_answer(row, "refuse", errors=errors))
        return

    role = enrolment_role(values["role"])
    if existing is None:
        plan.new_people.append(values)
        plan.new_enrolments += [(row.username, course_ids[code], role) for code in row.course_codes]
        plan.lines.append(line_answer(row, "create", enrol=row.course_codes))
        return
    changes: list[RosterChange] = [
        {"field": name, "before": getattr(existing, name), "after": values[name]}
        for name in ROSTER_CHANGEABLE
        if getattr(existing, name) != values[name] and (name not in EXTERNAL or values["external_id"])
    ]
    enrol = [code for code in row.course_codes if (existing.pk, course_ids[code]) not in enrolled]
    if not changes and not enrol:
        plan.unchanged += 1
        return
    if changes:
        for change in changes:
            setattr(existing, change["field"], change["after"])
            plan.changed_fields.add(change["field"])
        plan.changed_people.append(existing)
    plan.new_enrolments += [(existing.pk, course_ids[code], role) for code in enrol]
    plan.lines.append(line_answer(row, "change", changes=changes, enrol=enrol))


def line_answer(
    row: RosterRow,
    outcome: Literal["create", "change", "refuse"],
    *,
    changes: list[RosterChange] | None = None,
    enrol: list[str] | None = None,
    errors: list[str] | None = None,
) -> RosterLine:
    return {
        "line": row.line,
        "username": row.username,
        "outcome": outcome,
        "changes": changes or [],
        "enrol": enrol or [],
        "errors": errors or [],
    }


# SECTION: applying it


def roster_apply(*, plan: RosterPlan, now: datetime) -> None:
    """Write what the plan found to do, in the caller's transaction: the new people (one INSERT per batch), the
    changed details (one UPDATE per batch), the new enrolments (one INSERT per batch)."""
    created = users_create_many(organization=plan.organization, people=plan.new_people)
    created_ids = {user.username: user.pk for user in created}
    users_update_many(users=plan.changed_people, fields=sorted(plan.changed_fields))
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                user_id=created_ids[person] if isinstance(person, str) else person,
                course_id=course_id,
                role=role,
                status=Enrollment.Status.ACTIVE,
                enrolled_at=now,
            )
            for person, course_id, role in plan.new_enrolments
        ],
        batch_size=5_000,
    )


def roster_import(
    *, organization: Organization, data: bytes, dry_run: bool, now: datetime | None = None
) -> RosterImportResult:
    """Read the roster and answer what it does (dry run) or do it. Raises RosterFileError when the file cannot be
    read, RosterRefused when applying a file with refused lines (nothing is written)."""
    rows = roster_parse(data)
    if dry_run:
        return roster_plan(organization=organization, rows=rows).answer(dry_run=True, applied=False)
    return roster_commit(organization=organization, rows=rows, now=now or timezone.now())


def roster_commit(*, organization: Organization, rows: list[RosterRow], now: datetime) -> RosterImportResult:
    """Check again and write, in one transaction: what another request changed since a dry run is seen here."""
    try:
        with transaction.atomic():
            plan = roster_plan(organization=organization, rows=rows)
            if plan.refused:
                raise RosterRefused(plan.answer(dry_run=False, applied=False))
            roster_apply(plan=plan, now=now)
    except IntegrityError as error:
        # someone took a username or email, or enrolled someone, between the checks and the writes
        logger.info("roster import for organisation %s lost a race: %s", organization.pk, error)
        raise ApplicationError(
            "The school's people or enrolments changed while the roster was applied; nothing was applied. "
            "Import it again.",
            errors={"csv": ["Changed meanwhile: import the file again."]},
        ) from None
    return plan.answer(dry_run=False, applied=True)


# SECTION: as a job


def roster_import_request(
    *, organization: Organization, requested_by: User, data: bytes, dry_run: bool, now: datetime | None = None
) -> RosterImportResult | Job:
    """What the API does with a roster: a small one is read and answered at once; one of more than INLINE_ROWS
    people becomes a job (answered 202), run by a Celery worker after commit. A file that cannot be read is refused
    at once either way."""
    rows = roster_parse(data)
    if len(rows) <= INLINE_ROWS:
        if dry_run:
            return roster_plan(organization=organization, rows=rows).answer(dry_run=True, applied=False)
        return roster_commit(organization=organization, rows=rows, now=now or timezone.now())
    job = job_create(
        kind=JOB_KIND,
        requested_by=requested_by,
        organization_id=organization.pk,
        params={"csv": data.decode("utf-8-sig"), "dry_run": dry_run},
        message=f"Queued: {len(rows)} lines.",
    )
    transaction.on_commit(lambda: roster_job_enqueue(job_id=job.pk))
    return job


def roster_job_enqueue(*, job_id: int) -> None:
    from classroom.tasks import roster_import_run  # the task module imports this one

    try:
        roster_import_run.delay(job_id)
    except Exception as error:  # the broker is unreachable: say so on the job rather than leave it queued forever
        logger.exception("could not queue roster import job %s", job_id)
        job_fail(job_id=job_id, message=f"Could not be queued ({type(error).__name__}); import the file again.")


def roster_job_run(*, job_id: int, now: datetime | None = None) -> None:
    """Run a roster import job: read (progress 10 %), check every line (50 %), then check again and write in one
    transaction; it succeeds with the answer, or fails naming the refused lines (nothing written)."""
    if not job_start(job_id=job_id, message="Reading the file."):
        return  # ran already (a repeated delivery)
    job = Job.objects.select_related("organization").get(pk=job_id)
    organization = cast(Organization, job.organization)
    dry_run = bool(job.params.get("dry_run", True))
    try:
        rows = roster_parse(str(job.params["csv"]).encode("utf-8"))
        job_progress(job_id=job_id, percent=10, message=f"Checking {len(rows)} lines.")
        plan = roster_plan(organization=organization, rows=rows)
        if dry_run or plan.refused:
            result = plan.answer(dry_run=dry_run, applied=False)
            if plan.refused and not dry_run:
                raise RosterRefused(result)
            job_finish(job_id=job_id, result=result, message=summary_text(result), now=now)
            return
        writing = counts_text(plan.answer(dry_run=True, applied=False))
        job_progress(job_id=job_id, percent=50, message=f"Writing {writing}.")
        result = roster_commit(organization=organization, rows=rows, now=now or timezone.now())
    except RosterRefused as refused:
        job_fail(job_id=job_id, message=refused.message, result=refused.result, now=now)
        return
    except ApplicationError as error:
        job_fail(job_id=job_id, message=" ".join([error.message, *error.errors.get("csv", [])]), now=now)
        return
    except Exception:
        job_fail(job_id=job_id, message="Failed unexpectedly; nothing was applied. Operators have the log.", now=now)
        raise
    job_finish(job_id=job_id, result=result, message=summary_text(result), now=now)


def counts_text(result: RosterImportResult) -> str:
    summary = result["summary"]
    return f"{summary['created']} new people, {summary['changed']} changed, {summary['enrolled']} new enrolments"


def summary_text(result: RosterImportResult) -> str:
    summary = result["summary"]
    counts = counts_text(result)
    rest = f"{summary['unchanged']} lines unchanged, {summary['refused']} refused"
    if result["applied"]:
        return f"Applied: {counts}; {rest}."
    return f"Nothing applied. The file would create {counts}; {rest}."
