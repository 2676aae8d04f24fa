"""Writes for a sync source that names the teaching structure by its own ids (Google Classroom today): a course,
its modules and items by external id, who is enrolled, and the submissions the source holds. Set-wise (one
statement per kind of row and course), each writing only what differs from what is stored, so a sync that finds
nothing changed writes nothing. The source's app decides what its records mean; these keep the same rules as
every other write (classroom.services) and run in the caller's transaction."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Organization
from classroom.models import Course, Enrollment, LearningItem, Module, Submission
from classroom.services import course_create, course_update


def course_external_upsert(
    *,
    organization: Organization,
    source: str,
    external_id: str,
    title: str,
    subject: str = "",
    start_date: date | None = None,
) -> tuple[Course, bool]:
    """The course the source calls `external_id`, created (True) or brought up to date. Its code is the source's
    id (unique in the organisation), its days count in the organisation's zone; a start date is kept once set (a
    person may correct it)."""
    course = Course.objects.filter(organization=organization, external_source=source, external_id=external_id).first()
    if course is None:
        code = f"{source[:2].upper()}-{external_id}"[:64]
        created = course_create(
            organization=organization,
            title=title[:200],
            code=code,
            subject=subject[:100],
            start_date=start_date,
            external_source=source,
            external_id=external_id,
        )
        return created, True
    data: dict[str, object] = {"title": title[:200], "subject": subject[:100]}
    if course.start_date is None and start_date is not None:
        data["start_date"] = start_date
    course_update(course=course, data=data)
    return course, False


@transaction.atomic
def modules_external_sync(
    *, course: Course, source: str, modules: Sequence[tuple[str, str]]
) -> tuple[dict[str, Module], int]:
    """The course's modules from the source, in the source's order (external id, title): created, renamed and
    reordered after the course's own modules; a module the source no longer lists is kept (its items may hold
    work). Answers (them by external id, modules written)."""
    existing = {m.external_id: m for m in Module.objects.filter(course=course, external_source=source)}
    own_last = (
        Module.objects.filter(course=course).exclude(external_source=source).aggregate(last=Max("position"))["last"]
        or 0
    )
    wanted = {external_id: own_last + index for index, (external_id, _title) in enumerate(modules, start=1)}
    kept_last = max(wanted.values(), default=own_last)
    for module in existing.values():
        if module.external_id not in wanted:  # gone from the source: after the others, in its old order
            kept_last += 1
            wanted[module.external_id] = kept_last
    moving = [m for m in existing.values() if m.position != wanted[m.external_id]]
    # Positions are unique per course: park the moving ones out of the way first.
    parked = max([m.position for m in existing.values()] + [kept_last], default=0) + 1
    for offset, module in enumerate(moving):
        module.position = parked + offset
    Module.objects.bulk_update(moving, ["position"])
    titles = dict(modules)
    changed: list[Module] = []
    for module in existing.values():
        title = titles.get(module.external_id, module.title)[:200]
        if module.position != wanted[module.external_id] or module.title != title:
            module.position, module.title = wanted[module.external_id], title
            module.updated_at = timezone.now()
            changed.append(module)
    Module.objects.bulk_update(changed, ["position", "title", "updated_at"])
    new = [
        Module(
            course=course,
            title=title[:200],
            position=wanted[external_id],
            external_source=source,
            external_id=external_id,
        )
        for external_id, title in modules
        if external_id not in existing
    ]
    for module in Module.objects.bulk_create(new):
        existing[module.external_id] = module
    return existing, len(changed) + len(new)


@dataclass(frozen=True, slots=True)
class ExternalItem:
    external_id: str
    module_id: int
    kind: str
    title: str
    position: int
    max_points: Decimal | None
    due_at: datetime | None
    activity_type: str


ITEM_SYNCED_FIELDS = ("module_id", "kind", "title", "position", "max_points", "due_at", "activity_type")


@transaction.atomic
def learning_items_external_sync(
    *, course: Course, source: str, items: Sequence[ExternalItem]
) -> tuple[dict[str, int], int]:
    """The course's items from the source (found by external id in any of the course's modules, so an item moved
    to another topic moves): created or updated where a field differs. Answers (item id by external id, rows
    written)."""
    existing = {
        item.external_id: item for item in LearningItem.objects.filter(module__course=course, external_source=source)
    }
    changed: list[LearningItem] = []
    new: list[LearningItem] = []
    for row in items:
        values = {
            "module_id": row.module_id,
            "kind": row.kind,
            "title": row.title[:200],
            "position": row.position,
            "max_points": row.max_points,
            "due_at": row.due_at,
            "activity_type": row.activity_type[:32],
        }
        item = existing.get(row.external_id)
        if item is None:
            new.append(LearningItem(external_source=source, external_id=row.external_id, **values))
        elif any(getattr(item, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(item, name, value)
            item.updated_at = timezone.now()
            changed.append(item)
    LearningItem.objects.bulk_update(changed, [*ITEM_SYNCED_FIELDS, "updated_at"])
    for item in LearningItem.objects.bulk_create(new):
        existing[item.external_id] = item
    written = len(changed) + len(new)
    return {external_id: item.pk for external_id, item in existing.items()}, written


@transaction.atomic
def enrollments_sync(
    *, course: Course, role: str, user_ids: set[int], now: datetime, joined_at: datetime | None = None
) -> tuple[int, int]:
    """Make the course's active enrolments in `role` exactly `user_ids`: the missing ones enrolled (since
    `joined_at`, default now), the others ended as dropped at `now` (their history stays). Answers (added,
    dropped)."""
    active = dict(
        Enrollment.objects.filter(course=course, role=role, status=Enrollment.Status.ACTIVE).values_list(
            "user_id", "pk"
        )
    )
    leaving = [pk for user_id, pk in active.items() if user_id not in user_ids]
    Enrollment.objects.filter(pk__in=leaving).update(status=Enrollment.Status.DROPPED, ended_at=now, updated_at=now)
    joining = sorted(user_ids - set(active))
    Enrollment.objects.bulk_create(
        [Enrollment(user_id=user_id, course=course, role=role, enrolled_at=joined_at or now) for user_id in joining]
    )
    return len(joining), len(leaving)


@dataclass(frozen=True, slots=True)
class ExternalWork:
    """A student's work at an item as the source holds it: handed in at `submitted_at` (None: not handed in, so
    nothing is recorded and an earlier record is removed), late as the source says, with a score on the item's
    scale (clamped to 0..max points, as the submission's constraints require)."""

    item_id: int
    student_id: int
    submitted_at: datetime | None
    late: bool
    score: Decimal | None


@transaction.atomic
def submissions_external_sync(*, works: Sequence[ExternalWork], max_points: dict[int, Decimal | None]) -> int:
    """Record each work as the student's one attempt at the item (the source keeps one submission per student and
    item), or remove it when not handed in. Answers rows written."""
    if not works:
        return 0
    now = timezone.now()
    stored = {
        (s.item_id, s.student_id): s
        for s in Submission.objects.filter(
            item_id__in={w.item_id for w in works}, student_id__in={w.student_id for w in works}, attempt=1
        )
    }
    removed = [
        stored[(w.item_id, w.student_id)].pk
        for w in works
        if w.submitted_at is None and (w.item_id, w.student_id) in stored
    ]
    Submission.objects.filter(pk__in=removed).delete()
    changed: list[Submission] = []
    new: list[Submission] = []
    for work in works:
        if work.submitted_at is None:
            continue
        top = max_points.get(work.item_id)
        score = None
        if work.score is not None and top is not None:
            score = min(max(work.score, Decimal(0)), top).quantize(Decimal("0.01"))
        state = Submission.State.LATE if work.late else Submission.State.ON_TIME
        current = stored.get((work.item_id, work.student_id))
        if current is None:
            new.append(
                Submission(
                    item_id=work.item_id,
                    student_id=work.student_id,
                    attempt=1,
                    submitted_at=work.submitted_at,
                    state=state,
                    score=score,
                    max_points=top,
                )
            )
        elif (current.submitted_at, current.state, current.score, current.max_points) != (
            work.submitted_at,
            state,
            score,
            top,
        ):
            current.submitted_at, current.state, current.score, current.max_points = (
                work.submitted_at,
                state,
                score,
                top,
            )
            current.updated_at = now
            changed.append(current)
    Submission.objects.bulk_update(changed, ["submitted_at", "state", "score", "max_points", "updated_at"])
    Submission.objects.bulk_create(new)
    return len(removed) + len(changed) + len(new)


__all__ = [
    "ExternalItem",
    "ExternalWork",
    "course_external_upsert",
    "enrollments_sync",
    "learning_items_external_sync",
    "modules_external_sync",
    "submissions_external_sync",
]
