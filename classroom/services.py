"""Writes for the teaching structure. Each checks the rules a database constraint cannot express (same
organisation, roles that match) and leaves the rest to the named constraints in models.py."""

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Model
from django.utils import timezone

from accounts.models import Organization, Role, User
from classroom.models import (
    Course,
    Difficulty,
    DifficultySource,
    Enrollment,
    LearningItem,
    LearningPath,
    LearningPathStep,
    Module,
    Submission,
)
from core.exceptions import ApplicationError
from core.params import one_of

# SECTION: checks shared by the write API and Django admin


def refuse_if_invalid(instance: Model, errors: dict[str, list[str]], message: str) -> None:
    """Add the model's own field validation (choices, lengths, validators such as the time zone's) to `errors`
    and refuse with all of them at once. Unique and check constraints are not re-run here: each service checks
    those with a message naming the field, and the named constraints stay the last word in the database."""
    try:
        instance.full_clean(validate_constraints=False)
    except DjangoValidationError as error:
        for field, messages in error.message_dict.items():
            errors.setdefault("non_field_errors" if field == NON_FIELD_ERRORS else field, []).extend(messages)
    if errors:
        raise ApplicationError(message, errors=errors)


def course_check(*, course: Course) -> None:
    """What a course must satisfy to be saved, each refusal naming its field (API and admin alike)."""
    errors: dict[str, list[str]] = {}
    if course.start_date and course.end_date and course.end_date < course.start_date:
        errors["end_date"] = ["Must be on or after the start date."]
    siblings = Course.objects.filter(organization_id=course.organization_id).exclude(pk=course.pk)
    if course.code and siblings.filter(code=course.code).exists():
        errors["code"] = [f"Another course of this organisation has the code {course.code}."]
    if (
        course.external_id
        and siblings.filter(external_source=course.external_source, external_id=course.external_id).exists()
    ):
        errors["external_id"] = ["Another course of this organisation has this external source and id."]
    refuse_if_invalid(course, errors, "The course is invalid.")


def module_check(*, module: Module) -> None:
    errors: dict[str, list[str]] = {}
    siblings = Module.objects.filter(course_id=module.course_id).exclude(pk=module.pk)
    if module.position is not None and siblings.filter(position=module.position).exists():
        errors["position"] = [f"Another module of this course has position {module.position}."]
    refuse_if_invalid(module, errors, "The module is invalid.")


# How much an item may say of itself: enough for a recommendation's card, little enough to stay a label.
ITEM_TAGS_MAX = 20
ITEM_OUTCOMES_MAX = 10
ITEM_PREREQUISITES_MAX = 20
# (field, what one value is called, at most how many); no value twice in any of them
ITEM_LABELS = (
    ("tags", "tag", ITEM_TAGS_MAX),
    ("prerequisite_skills", "skill", ITEM_TAGS_MAX),
    ("expected_outcomes", "outcome", ITEM_OUTCOMES_MAX),
)


def labels_problems(values: Sequence[str], *, noun: str, most: int) -> list[str]:
    """What is wrong with a list of an item's labels (tags, skills, outcomes): more than `most`, an empty one or one
    with spaces around it, or one given twice (case aside: "Algebra" and "algebra" are one tag). The lengths are the
    fields' own (the model's max_length)."""
    problems = []
    if len(values) > most:
        problems.append(f"At most {most} {noun}s.")
    if any(not value or value != value.strip() for value in values):
        problems.append(f"Each {noun} needs at least one character, without spaces around it.")
    seen: set[str] = set()
    twice: list[str] = []
    for value in values:
        key = value.strip().casefold()
        if key in seen and value not in twice:
            twice.append(value)
        seen.add(key)
    if twice:
        problems.append(f"Given twice: {', '.join(twice)}.")
    return problems


def learning_item_check(*, item: LearningItem) -> None:
    errors: dict[str, list[str]] = {}
    if item.max_points is not None and item.max_points <= 0:
        errors["max_points"] = ["Must be greater than 0 (leave it empty for an item that is not graded)."]
    if item.week_from is not None and item.week_to is not None and item.week_to < item.week_from:
        errors["week_to"] = [f"Must not be before week_from ({item.week_from})."]
    for name, noun, most in ITEM_LABELS:
        problems = labels_problems(getattr(item, name), noun=noun, most=most)
        if problems:
            errors[name] = problems
    if item.external_id and (
        LearningItem.objects.filter(
            module_id=item.module_id, external_source=item.external_source, external_id=item.external_id
        )
        .exclude(pk=item.pk)
        .exists()
    ):
        errors["external_id"] = ["Another item of this module has this external source and id."]
    refuse_if_invalid(item, errors, "The learning item is invalid.")


def learning_item_prerequisites_check(
    *, item: LearningItem, organization_id: int, prerequisites: Iterable[LearningItem]
) -> None:
    """What an item's prerequisites must be (API and admin alike): items of its own organisation (`organization_id`,
    its course's), not the item itself, and none that needs the item first, directly or through others: a cycle
    would leave no way in. The walk reads one level of prerequisites per query (chains are short). Two writers
    closing a cycle from both ends at the same instant are not caught; the engine treats prerequisites as advice."""
    wanted = {prerequisite.pk for prerequisite in prerequisites}
    problems: list[str] = []
    if item.pk is not None and item.pk in wanted:
        problems.append("An item cannot be its own prerequisite.")
        wanted.discard(item.pk)
    own = set(
        LearningItem.objects.filter(pk__in=wanted, module__course__organization_id=organization_id).values_list(
            "pk", flat=True
        )
    )
    problems += [f"No item with id {pk} that you may name here." for pk in sorted(wanted - own)]
    if item.pk is not None and own:
        through = LearningItem.prerequisites.through
        leads_back: set[int] = set()
        origin = {pk: pk for pk in own}  # each item reached → the prerequisite whose chain reached it
        frontier = set(own)
        while frontier:
            steps = through.objects.filter(from_learningitem_id__in=frontier).values_list(
                "from_learningitem_id", "to_learningitem_id"
            )
            frontier = set()
            for needing, needed in steps:
                if needed == item.pk:
                    leads_back.add(origin[needing])
                elif needed not in origin:
                    origin[needed] = origin[needing]
                    frontier.add(needed)
        problems += [
            f"Item {pk} needs this item first (directly or through others): that would make a cycle."
            for pk in sorted(leads_back)
        ]
    if problems:
        raise ApplicationError("The prerequisites are invalid.", errors={"prerequisites": problems})


def difficulty_source_for(difficulty: str) -> str:
    """Where a difficulty a person gives comes from: "set" (derivation never overwrites it); a person clearing it
    hands the item back to derivation."""
    return DifficultySource.SET.value if difficulty else ""


def changes_apply(instance: Model, *, data: Mapping[str, Any], editable: frozenset[str]) -> list[str]:
    """Set the editable fields named in `data` on `instance`; the names of those that changed."""
    unknown = sorted(set(data) - editable)
    if unknown:
        raise ApplicationError(
            "Fields that cannot be changed.", errors={name: ["Cannot be changed."] for name in unknown}
        )
    changed = [name for name, value in data.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, data[name])
    return changed


# SECTION: courses, modules, items


def checked_save(instance: Model, *, check: Callable[[], None], update_fields: list[str] | None = None) -> None:
    """Save a row its check has passed. Should another request have taken the same code or position in between,
    the unique constraint refuses it and the check, run again, names the field (a 400, not a 500)."""
    try:
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError:
        check()
        raise


COURSE_EDITABLE = frozenset(
    {"title", "code", "subject", "start_date", "end_date", "time_zone", "external_source", "external_id"}
)


@transaction.atomic
def course_create(
    *,
    organization: Organization,
    title: str,
    code: str,
    subject: str = "",
    start_date: date | None = None,
    end_date: date | None = None,
    time_zone: str | None = None,
    external_source: str = "",
    external_id: str = "",
) -> Course:
    """A new class; its days count in the organisation's time zone unless another is given."""
    course = Course(
        organization=organization,
        title=title,
        code=code,
        subject=subject,
        start_date=start_date,
        end_date=end_date,
        time_zone=time_zone or organization.time_zone,
        external_source=external_source,
        external_id=external_id,
    )
    course_check(course=course)
    checked_save(course, check=lambda: course_check(course=course))
    return course


@transaction.atomic
def course_update(*, course: Course, data: Mapping[str, Any]) -> Course:
    """Change the fields named in `data` (COURSE_EDITABLE). A new time zone counts the days of events stored from
    now on; `manage.py rollups_rebuild` recounts the earlier ones."""
    changed = changes_apply(course, data=data, editable=COURSE_EDITABLE)
    if changed:
        course_check(course=course)
        checked_save(course, check=lambda: course_check(course=course), update_fields=[*changed, "updated_at"])
    return course


@transaction.atomic
def module_create(
    *, course: Course, title: str, position: int | None = None, external_source: str = "", external_id: str = ""
) -> Module:
    """A unit of `course`; without a position it goes after the last one."""
    if position is None:
        last = Module.objects.filter(course=course).aggregate(last=Max("position"))["last"]
        position = (last or 0) + 1
    module = Module(
        course=course, title=title, position=position, external_source=external_source, external_id=external_id
    )
    module_check(module=module)
    checked_save(module, check=lambda: module_check(module=module))
    return module


MODULE_EDITABLE = frozenset({"title", "position", "external_source", "external_id"})


@transaction.atomic
def module_update(*, module: Module, data: Mapping[str, Any]) -> Module:
    changed = changes_apply(module, data=data, editable=MODULE_EDITABLE)
    if changed:
        module_check(module=module)
        checked_save(module, check=lambda: module_check(module=module), update_fields=[*changed, "updated_at"])
    return module


@transaction.atomic
def learning_item_create(
    *,
    module: Module,
    kind: str,
    title: str,
    position: int = 0,
    max_points: Decimal | None = None,
    due_at: datetime | None = None,
    estimated_minutes: int | None = None,
    external_source: str = "",
    external_id: str = "",
    difficulty: str = "",
    tags: Sequence[str] = (),
    prerequisites: Sequence[LearningItem] = (),
    prerequisite_skills: Sequence[str] = (),
    expected_outcomes: Sequence[str] = (),
    activity_type: str = "",
    week_from: int | None = None,
    week_to: int | None = None,
) -> LearningItem:
    """A new item of `module`; a difficulty given here is a person's ("set")."""
    item = LearningItem(
        module=module,
        kind=kind,
        title=title,
        position=position,
        max_points=max_points,
        due_at=due_at,
        estimated_minutes=estimated_minutes,
        external_source=external_source,
        external_id=external_id,
        difficulty=difficulty,
        difficulty_source=difficulty_source_for(difficulty),
        tags=list(tags),
        prerequisite_skills=list(prerequisite_skills),
        expected_outcomes=list(expected_outcomes),
        activity_type=activity_type,
        week_from=week_from,
        week_to=week_to,
    )
    learning_item_check(item=item)
    if prerequisites:
        learning_item_prerequisites_check(
            item=item, organization_id=module.course.organization_id, prerequisites=prerequisites
        )
    checked_save(item, check=lambda: learning_item_check(item=item))
    if prerequisites:
        item.prerequisites.set(prerequisites)
    return item


LEARNING_ITEM_EDITABLE = frozenset(
    {
        "module",
        "kind",
        "title",
        "position",
        "max_points",
        "due_at",
        "estimated_minutes",
        "external_source",
        "external_id",
        "difficulty",
        "tags",
        "prerequisite_skills",
        "expected_outcomes",
        "activity_type",
        "week_from",
        "week_to",
    }
)


@transaction.atomic
def learning_item_update(*, item: LearningItem, data: Mapping[str, Any]) -> LearningItem:
    """Change the fields named in `data` (LEARNING_ITEM_EDITABLE, and `prerequisites`: the items, replacing the
    current ones). An item moves only between modules of its own course (its events, submissions and rollups belong
    to that class). Submissions already graded keep the maximum they were graded against. A difficulty given here
    is a person's ("set"), even when it equals the derived one: derivation leaves it alone from then on."""
    module = data.get("module")
    if module is not None and module.course_id != item.module.course_id:
        raise ApplicationError(
            "An item stays in its course.", errors={"module": ["Not a module of this item's course."]}
        )
    fields = {name: value for name, value in data.items() if name != "prerequisites"}
    changed = changes_apply(item, data=fields, editable=LEARNING_ITEM_EDITABLE)
    if "difficulty" in fields and item.difficulty_source != difficulty_source_for(item.difficulty):
        item.difficulty_source = difficulty_source_for(item.difficulty)
        changed.append("difficulty_source")
    prerequisites = data.get("prerequisites")
    if changed:
        learning_item_check(item=item)
    if prerequisites is not None:
        learning_item_prerequisites_check(
            item=item, organization_id=item.module.course.organization_id, prerequisites=prerequisites
        )
        if set(item.prerequisites.values_list("pk", flat=True)) != {prerequisite.pk for prerequisite in prerequisites}:
            item.prerequisites.set(prerequisites)
            changed.append("updated_at")
    if changed:
        update_fields = sorted({*changed, "updated_at"})
        checked_save(item, check=lambda: learning_item_check(item=item), update_fields=update_fields)
    return item


@dataclass(frozen=True, slots=True)
class ItemSchedule:
    """What a source system says of an item beyond its kind: its own type and the weeks it is planned for."""

    activity_type: str
    week_from: int | None
    week_to: int | None


def learning_items_schedule_fill(*, found: Mapping[int, ItemSchedule]) -> int:
    """Fill in what an importer found of existing items (by item id) where they lack it: the activity type where it
    is blank, the weeks where neither is set. A value already there (an earlier import's, a person's edit) is kept,
    so re-running an import on a database imported before these fields existed fills them in and changes nothing
    else. One read, then one UPDATE per IMPORT_BATCH items that need it. Returns how many items changed."""
    changed = []
    stored = LearningItem.objects.filter(pk__in=list(found)).only("pk", "activity_type", "week_from", "week_to")
    for item in stored.order_by():  # no ordering: the default one joins module, course and organisation
        source = found[item.pk]
        fill_type = not item.activity_type and bool(source.activity_type)
        fill_weeks = item.week_from is None and item.week_to is None and source.week_from is not None
        if fill_type:
            item.activity_type = source.activity_type
        if fill_weeks:
            item.week_from, item.week_to = source.week_from, source.week_to
        if fill_type or fill_weeks:
            changed.append(item)
    now = timezone.now()
    for item in changed:
        item.updated_at = now
    LearningItem.objects.bulk_update(
        changed, ["activity_type", "week_from", "week_to", "updated_at"], batch_size=IMPORT_BATCH
    )
    return len(changed)


def learning_items_difficulty_derived_set(*, levels: Mapping[int, str]) -> int:
    """Record the difficulty derived from data (recommendations.difficulty) for these items, by item id: a level,
    or "" where the data no longer tell one (a derived value is then cleared). An item whose difficulty a person set
    keeps it: the statement itself skips them, so a person's edit made meanwhile is never overwritten. One UPDATE
    per level and IMPORT_BATCH items; returns how many items changed."""
    by_level: dict[str, list[int]] = defaultdict(list)
    for item_id, level in levels.items():
        if level and level not in Difficulty.values:
            raise ApplicationError(
                "Unknown difficulty.", errors={"difficulty": [one_of("difficulty", Difficulty.values)]}
            )
        by_level[level].append(item_id)
    now = timezone.now()
    updated = 0
    for level, item_ids in sorted(by_level.items()):
        source = DifficultySource.DERIVED.value if level else ""
        for start in range(0, len(item_ids), IMPORT_BATCH):
            updated += (
                LearningItem.objects.filter(pk__in=item_ids[start : start + IMPORT_BATCH])
                .exclude(difficulty_source=DifficultySource.SET)
                .exclude(difficulty=level, difficulty_source=source)
                .update(difficulty=level, difficulty_source=source, updated_at=now)
            )
    return updated


# SECTION: enrolments


def enrollment_check(
    *, user: User, course: Course, role: str, active: bool = True, exclude_pk: int | None = None
) -> None:
    """Who may hold an enrolment in a course in a role (the API and Django admin alike): someone of the course's
    organisation, a student to attend, a teacher or administrator to teach, and at most one active enrolment."""
    if user.organization_id != course.organization_id:
        raise ApplicationError(
            "The person belongs to another organisation.", errors={"user": ["Not in this course's organisation."]}
        )
    if role == Enrollment.Role.TEACHER and user.role not in (Role.TEACHER, Role.ADMIN):
        raise ApplicationError("Only teachers can teach a course.", errors={"role": ["User is not a teacher."]})
    if role == Enrollment.Role.STUDENT and user.role != Role.STUDENT:
        raise ApplicationError("Only students can attend a course.", errors={"role": ["User is not a student."]})
    if not active or course.pk is None:  # an ended row, or a course being created with its enrolments
        return
    others = Enrollment.objects.filter(user=user, course=course, status=Enrollment.Status.ACTIVE)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise ApplicationError("Already enrolled.", errors={"user": ["Already has an active enrolment here."]})


@transaction.atomic
def enrollment_create(
    *, user: User, course: Course, role: str = Enrollment.Role.STUDENT, enrolled_at: datetime
) -> Enrollment:
    enrollment_check(user=user, course=course, role=role)
    return Enrollment.objects.create(user=user, course=course, role=role, enrolled_at=enrolled_at)


def enrollment_role_for(user: User) -> str:
    """The role a person takes in a class they are enrolled into: students attend, teachers and administrators
    teach."""
    return Enrollment.Role.STUDENT if user.role == Role.STUDENT else Enrollment.Role.TEACHER


def enrollment_ensure(
    *, user: User, course: Course, role: str = Enrollment.Role.STUDENT, enrolled_at: datetime
) -> tuple[Enrollment, bool]:
    """The person's active enrolment in the course in this role: the existing one (False), else a new one (True).
    Enrolling twice is therefore harmless (an LMS may resend); an active enrolment in the other role is refused."""
    for _attempt in range(2):
        existing = Enrollment.objects.filter(user=user, course=course, status=Enrollment.Status.ACTIVE).first()
        if existing is not None:
            if existing.role != role:
                raise ApplicationError(
                    "Already enrolled in another role.",
                    errors={"role": [f"Already enrolled here as {existing.role}; end that enrolment first."]},
                )
            return existing, False
        try:
            with transaction.atomic():
                return enrollment_create(user=user, course=course, role=role, enrolled_at=enrolled_at), True
        except IntegrityError:
            continue  # enrolled at the same moment by another request: read theirs
    raise ApplicationError("Could not enrol.", errors={"user": ["Enrolled concurrently; try again."]})


@transaction.atomic
def enrollment_end(*, enrollment: Enrollment, status: str, ended_at: datetime) -> Enrollment:
    if status not in (Enrollment.Status.DROPPED, Enrollment.Status.COMPLETED):
        raise ApplicationError("An enrolment ends as dropped or completed.", errors={"status": ["Invalid."]})
    if enrollment.status != Enrollment.Status.ACTIVE:
        raise ApplicationError("The enrolment has already ended.", errors={"status": ["Not active."]})
    if ended_at < enrollment.enrolled_at:
        raise ApplicationError(
            "An enrolment ends after it began.",
            errors={"ended_at": [f"Must not be before the enrolment began ({enrollment.enrolled_at.isoformat()})."]},
        )
    enrollment.status = status
    enrollment.ended_at = ended_at
    enrollment.save(update_fields=["status", "ended_at", "updated_at"])
    return enrollment


def enrollment_result_set(*, enrollment: Enrollment, final_result: str, result_at: datetime | None) -> Enrollment:
    """Record (or, blank, clear) an enrolment's final result and when it was reached: the outcome the at-risk model
    learns from. Does not end the enrolment (enrollment_end does)."""
    if final_result and final_result not in Enrollment.FinalResult.values:
        message = one_of("final_result", Enrollment.FinalResult.values)
        raise ApplicationError("Unknown final result.", errors={"final_result": [message]})
    enrollment.final_result = final_result
    enrollment.result_at = (result_at or timezone.now()) if final_result else None
    enrollment.save(update_fields=["final_result", "result_at", "updated_at"])
    return enrollment


# SECTION: submissions


def submission_state_for(*, item: LearningItem, submitted_at: datetime | None) -> str:
    """On time when handed in by the due time (or when nothing is due), late after it, missing when not handed in."""
    if submitted_at is None:
        return Submission.State.MISSING
    if item.due_at is None or submitted_at <= item.due_at:
        return Submission.State.ON_TIME
    return Submission.State.LATE


@transaction.atomic
def submission_record(
    *,
    item: LearningItem,
    student: User,
    submitted_at: datetime | None,
    score: Decimal | None = None,
    attempt: int = 1,
    excused: bool = False,
) -> Submission:
    """Record one attempt (idempotent per item, student and attempt: recording it again updates it)."""
    if student.role != Role.STUDENT:
        raise ApplicationError("Only students submit work.", errors={"student": ["Not a student."]})
    if score is not None and item.max_points is None:
        raise ApplicationError("This item is not graded.", errors={"score": ["The item has no maximum points."]})
    if score is not None and item.max_points is not None and not (0 <= score <= item.max_points):
        raise ApplicationError("Score out of range.", errors={"score": [f"Must be between 0 and {item.max_points}."]})
    state = Submission.State.EXCUSED if excused else submission_state_for(item=item, submitted_at=submitted_at)
    submission, _ = Submission.objects.update_or_create(
        item=item,
        student=student,
        attempt=attempt,
        defaults={"submitted_at": submitted_at, "state": state, "score": score, "max_points": item.max_points},
    )
    return submission


# Items whose hand-ins are submissions: what assignment timeliness counts (analytics.selectors.classes).
GRADED_KINDS = (LearningItem.Kind.ASSIGNMENT, LearningItem.Kind.QUIZ)


@dataclass(frozen=True, slots=True)
class HandedIn:
    """Work a student handed in, as a learning event reports it (analytics' ingestion passes one per newly stored
    `quiz_submit` / `assignment_submit` event naming an item)."""

    item_id: int
    student_id: int
    submitted_at: datetime
    attempt: int | None = None  # None (or 0): the student's next attempt at the item
    score_raw: Decimal | None = None
    score_max: Decimal | None = None
    score_scaled: Decimal | None = None  # xAPI's -1..1


# submission_state_for's rule for handed-in work, in SQL, over the item `i` and the hand-in `w`
# (tests/classroom/test_submissions_from_events.py holds the two equal).
STATE_OF_HAND_IN = f"""CASE WHEN i.due_at IS NULL OR w.submitted_at <= i.due_at
    THEN '{Submission.State.ON_TIME.value}' ELSE '{Submission.State.LATE.value}' END"""

# One statement records a batch's hand-ins (%(work)s: a JSON array of HandedIn rows, with their position in the
# batch), each as submission_record would:
# - only a student's work at an assignment or quiz counts;
# - the score on the item's scale: the scaled score when given, else raw out of its maximum, else a raw score that
#   fits the item's scale (the order analytics' score percentage reads an event in); rounded to the cent and kept
#   within 0..max_points, as the submission's constraints require (a negative mark earns no points); none for an
#   item without points;
# - an attempt not given is the student's next: after every attempt handed in or excused so far, and after the
#   numbered ones and the earlier unnumbered ones of the same batch. A "missing" mark does not count, so the first
#   hand-in takes its place (as submission_record over the mark's attempt does), and any other "missing" mark of that
#   item and student is removed rather than left standing as a later attempt. Of two hand-ins of one attempt in a
#   batch the later wins (recording again updates, as in submission_record).
# Rows are upserted in key order, so two batches writing the same rows wait for each other instead of deadlocking.
# Two batches for one student and item committing at the same moment may number the same next attempt; the later
# then updates that attempt rather than adding one (an LMS posts one student's work in order).
# Composed from this module's constants only; values always travel as parameters.
SUBMISSIONS_FROM_EVENTS = f"""
WITH handed_in AS (
    SELECT w.position, w.item_id, w.student_id, NULLIF(w.attempt, 0) AS attempt, w.submitted_at,
           {STATE_OF_HAND_IN} AS state, i.max_points,
           CASE WHEN w.score_scaled IS NOT NULL THEN w.score_scaled * i.max_points
                WHEN w.score_raw IS NOT NULL AND w.score_max > 0 THEN w.score_raw * i.max_points / w.score_max
                WHEN w.score_max IS NULL AND w.score_raw <= i.max_points THEN w.score_raw
           END AS points
    FROM json_to_recordset(%(work)s::json) AS w (
        position integer, item_id bigint, student_id bigint, attempt integer, submitted_at timestamptz,
        score_raw numeric, score_max numeric, score_scaled numeric)
    JOIN classroom_learningitem i ON i.id = w.item_id AND i.kind = ANY(%(graded)s::varchar[])
    JOIN accounts_user u ON u.id = w.student_id AND u.role = %(student)s
),
handed_before AS (
    SELECT s.item_id, s.student_id, max(s.attempt) AS attempt
    FROM classroom_submission s
    WHERE (s.item_id, s.student_id) IN (SELECT item_id, student_id FROM handed_in) AND s.state <> %(missing)s
    GROUP BY 1, 2
),
numbered AS (
    SELECT h.position, h.item_id, h.student_id, h.submitted_at, h.state, h.max_points,
           CASE WHEN h.points IS NOT NULL THEN LEAST(GREATEST(round(h.points, 2), 0), h.max_points) END AS score,
           COALESCE(
               h.attempt,
               GREATEST(b.attempt, max(h.attempt) OVER pair, 0)
               + count(*) FILTER (WHERE h.attempt IS NULL)
                 OVER (pair ORDER BY h.submitted_at, h.position ROWS UNBOUNDED PRECEDING)
           ) AS attempt
    FROM handed_in h
    LEFT JOIN handed_before b ON b.item_id = h.item_id AND b.student_id = h.student_id
    WINDOW pair AS (PARTITION BY h.item_id, h.student_id)
),
latest AS (
    SELECT DISTINCT ON (item_id, student_id, attempt) *
    FROM numbered
    ORDER BY item_id, student_id, attempt, submitted_at DESC, position DESC
),
-- a data-modifying CTE runs to completion whether or not the query reads it
missing_marks_removed AS (
    DELETE FROM classroom_submission s
    WHERE s.state = %(missing)s
      AND (s.item_id, s.student_id) IN (SELECT item_id, student_id FROM latest)
      AND (s.item_id, s.student_id, s.attempt) NOT IN (SELECT item_id, student_id, attempt FROM latest)
),
recorded AS (
    INSERT INTO classroom_submission AS t (
        created_at, updated_at, item_id, student_id, attempt, submitted_at, state, score, max_points)
    SELECT %(at)s, %(at)s, item_id, student_id, attempt, submitted_at, state, score, max_points
    FROM latest
    ORDER BY item_id, student_id, attempt
    ON CONFLICT ON CONSTRAINT classroom_submission_attempt_unique DO UPDATE SET
        updated_at = EXCLUDED.updated_at, submitted_at = EXCLUDED.submitted_at, state = EXCLUDED.state,
        score = EXCLUDED.score, max_points = EXCLUDED.max_points
    RETURNING 1
)
SELECT count(*) FROM recorded
"""  # noqa: S608


def submissions_record_from_events(*, handed_in: Sequence[HandedIn], recorded_at: datetime) -> int:
    """Record work handed in as learning events report it, in the caller's transaction (the one storing the
    events), as submission_record would record each: the attempt (given, else the next), submitted_at, the score on
    the item's scale, on time or late against the item's due time (SUBMISSIONS_FROM_EVENTS says how). Work at an
    item that is not an assignment or quiz, or by someone who is not a student, is left out. Returns how many
    submissions were written.

    One statement for the whole batch: ingestion calls this for every batch holding hand-ins. The caller passes each
    event once (only those it newly stored), which is what makes a repeated event change nothing.
    """
    if not handed_in:
        return 0
    rows = [
        {
            "position": position,
            "item_id": work.item_id,
            "student_id": work.student_id,
            "attempt": work.attempt,
            "submitted_at": work.submitted_at,
            "score_raw": work.score_raw,
            "score_max": work.score_max,
            "score_scaled": work.score_scaled,
        }
        for position, work in enumerate(handed_in)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            SUBMISSIONS_FROM_EVENTS,
            {
                # Decimals as strings: PostgreSQL reads them into numeric exactly.
                "work": orjson.dumps(rows, default=str).decode(),
                "graded": [kind.value for kind in GRADED_KINDS],
                "student": Role.STUDENT.value,
                "missing": Submission.State.MISSING.value,
                "at": recorded_at,
            },
        )
        (recorded,) = cursor.fetchone() or (0,)
    return int(recorded)


# Rows per INSERT of a bulk import: large enough to amortise the round trip, small enough for one statement's memory.
IMPORT_BATCH = 5_000

ImportedRow = TypeVar("ImportedRow", Course, Module, LearningItem, Enrollment, Submission)


def rows_import(*, rows: Sequence[ImportedRow]) -> None:
    """Bulk-create teaching rows an importer built from a keyed source (OULAD: courses, modules and items by their
    external ids, submissions by (item, student, attempt), ended enrolments): no per-row validation, and a row
    that exists already (by its unique keys) is left as it is, so re-running an import adds only what is missing.
    Rows of one model per call; the importer reads back the ids it needs."""
    if rows:
        type(rows[0]).objects.bulk_create(rows, batch_size=IMPORT_BATCH, ignore_conflicts=True)


@transaction.atomic
def learning_path_create(
    *, organization: Organization, title: str, items: list[LearningItem], description: str = ""
) -> LearningPath:
    foreign = [item.pk for item in items if item.module.course.organization_id != organization.pk]
    if foreign:
        raise ApplicationError(
            "A path may only hold items of its organisation.", errors={"items": [f"Foreign items: {foreign}"]}
        )
    path = LearningPath.objects.create(organization=organization, title=title, description=description)
    LearningPathStep.objects.bulk_create(
        LearningPathStep(path=path, item=item, position=position) for position, item in enumerate(items, start=1)
    )
    return path
