"""Checking the people, courses and items a batch of learning events names, in one query per batch.

Lives in classroom because it applies classroom's rules of who may see what (classroom.selectors) and of who counts
in a class (an active student enrolment at the event's time); the analytics ingestion calls it and never decides
access itself.

A reference is our id (an int) or a `Reference`: an integration's own name for the row, always looked up within
the principal's organisation (people) or scope (courses, items):

- a person by `username`, `email` (any case) or `external_id` (with an optional `source`);
- a course by `code` or `external_id` (with an optional `source`);
- an item by `external_id` (with an optional `source`), within the event's course when it names one.

Every distinct reference of a batch is looked up once, in the batch's one query; nothing is cached across requests
(why: analytics/README.md, "Ingestion scope and identifiers").
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import EmptyResultSet

from accounts.models import Role, User
from classroom.selectors import visible_courses
from core.db import prepared_cursor

PERSON, COURSE, ITEM, ENROLMENT = 1, 2, 3, 4
# The courses an integration (an organisation's API key) may post about: all of its organisation's.
SCOPE_ORGANIZATION = "SELECT id FROM classroom_course WHERE organization_id = %s"
# One statement per batch reads the named people of the organisation (by id, username, email or external id), the
# named courses (by id, code or external id) and items (by id or external id) within the principal's scope ({scope}
# selects the ids of the courses in scope, built from classroom.selectors, never from input), and the student
# enrolments of those people in those courses, ended ones included: whether an event counts depends on the
# enrolment at ITS time. Each way of naming a person or an item is a branch of its own, so each reads its own index
# (primary key, unique username, lower(email), external id) rather than all of an organisation's people; courses are
# few per organisation, read through the scope. The statement is composed of the branches a batch needs, from these
# constants only: a batch naming only ids gets the short statement (PostgreSQL plans it afresh each time, and
# planning every branch cost 0.7 ms more per batch); each variant is prepared once per connection.
PEOPLE_BY = {
    "actor_ids": "u.id = ANY(%s::bigint[])",
    "usernames": "u.username = ANY(%s::text[])",
    "emails": "lower(u.email) = ANY(%s::text[]) AND u.email <> ''",
    "actor_external_ids": "u.external_id = ANY(%s::text[]) AND u.external_id <> ''",
}
COURSES_BY = {
    "course_ids": "c.id = ANY(%s::bigint[])",
    "course_codes": "c.code = ANY(%s::text[])",
    "course_external_ids": "(c.external_id = ANY(%s::text[]) AND c.external_id <> '')",
}
ITEMS_BY = {
    "item_ids": "i.id = ANY(%s::bigint[])",
    "item_external_ids": "i.external_id = ANY(%s::text[]) AND i.external_id <> ''",
}
PEOPLE_BRANCH = (
    "SELECT u.id, u.role, u.username, lower(u.email), u.external_id, u.external_source"
    " FROM accounts_user u WHERE {condition} AND u.organization_id = %s AND u.is_active"
)
COURSES = (
    "SELECT c.id, c.code, c.external_id, c.external_source"
    " FROM classroom_course c WHERE c.id IN (SELECT id FROM scope) AND ({conditions})"
)
ITEMS_BRANCH = (
    "SELECT i.id, m.course_id, i.external_id, i.external_source"
    " FROM classroom_learningitem i JOIN classroom_module m ON m.id = i.module_id"
    " WHERE {condition} AND m.course_id IN (SELECT id FROM scope)"
)
PEOPLE_ROWS = "SELECT 1, p.*, NULL::bigint, NULL::timestamptz, NULL::timestamptz FROM people p"
COURSE_ROWS = "SELECT 2, id, NULL, code, NULL, external_id, external_source, NULL, NULL, NULL FROM courses"
ITEM_ROWS = "SELECT 3, id, NULL, NULL, NULL, external_id, external_source, course_id, NULL, NULL FROM items"
ENROLMENT_ROWS = (
    "SELECT 4, e.user_id, NULL, NULL, NULL, NULL, NULL, e.course_id, e.enrolled_at, e.ended_at"
    " FROM classroom_enrollment e WHERE e.role = 'student' AND e.user_id IN (SELECT id FROM people)"
    " AND e.course_id IN ({courses})"
)


def references_statement(scope: str, named: dict[str, list[Any]]) -> tuple[str, list[Any]]:
    """The statement reading what `named` (values per key of PEOPLE_BY, COURSES_BY, ITEMS_BY; organisation under
    "organization") names, and its parameters after the scope's. Rows: (kind, id, role, username or code, email,
    external id, source, course id, enrolled at, ended at)."""
    parts, rows, parameters = [f"scope AS ({scope})"], [], []
    people = [key for key in PEOPLE_BY if named[key]]
    courses = [key for key in COURSES_BY if named[key]]
    items = [key for key in ITEMS_BY if named[key]]
    if people:
        branches = " UNION ALL ".join(PEOPLE_BRANCH.format(condition=PEOPLE_BY[key]) for key in people)
        parts.append(f"people AS ({branches})")
        rows.append(PEOPLE_ROWS)
        for key in people:
            parameters += [named[key], named["organization"]]
    if courses:
        conditions = " OR ".join(COURSES_BY[key] for key in courses)
        parts.append(f"courses AS ({COURSES.format(conditions=conditions)})")
        rows.append(COURSE_ROWS)
        parameters += [named[key] for key in courses]
    if items:
        branches = " UNION ALL ".join(ITEMS_BRANCH.format(condition=ITEMS_BY[key]) for key in items)
        parts.append(f"items AS ({branches})")
        rows.append(ITEM_ROWS)
        parameters += [named[key] for key in items]
    if people and (courses or items):
        named_courses = " UNION ".join(
            ["SELECT id FROM courses"] * bool(courses) + ["SELECT course_id FROM items"] * bool(items)
        )
        rows.append(ENROLMENT_ROWS.format(courses=named_courses))
    return f"WITH {', '.join(parts)} {' UNION ALL '.join(rows)}", parameters


USERNAME, EMAIL, EXTERNAL_ID, CODE = "username", "email", "external_id", "code"
# What each reference may be named by (besides our id), in the order the documentation lists them.
ACTOR_KINDS = (USERNAME, EMAIL, EXTERNAL_ID)
COURSE_KINDS = (CODE, EXTERNAL_ID)
ITEM_KINDS = (EXTERNAL_ID,)
# Longest value per kind: the columns' lengths (a longer one cannot match anything).
MAX_LENGTH = {USERNAME: 150, EMAIL: 254, EXTERNAL_ID: 128, CODE: 64, "source": 32}

NOT_ENROLLED = "no active enrolment: the learner was not an active student of the course at the event's time"
STAFF_SELF = "Staff activity is not counted in a class: post it without `course` and `item`."
STAFF_NAMED = "Names a teacher or administrator: staff activity is not counted in a class (omit `course` and `item`)."


@dataclass(frozen=True, slots=True)
class Reference:
    """A row named by an integration's own identifier instead of our id. Hashable: a batch looks each up once."""

    kind: str  # username, email, external_id or code
    value: str  # an email is kept in lower case (emails are unique in any case)
    source: str | None = None  # with external_id: the system it comes from; None matches any

    def describe(self) -> str:
        """The reference as a reason or message shows it (values cut short: the payload keeps them whole)."""
        value = self.value if len(self.value) <= 60 else f"{self.value[:57]}..."
        named = f"{self.kind.replace('_', ' ')} {value!r}"
        return f"{named} (source {self.source!r})" if self.source is not None else named


class NamesReferences(Protocol):
    actor_id: int | None
    course_id: int | None
    item_id: int | None
    actor_ref: Reference | None
    course_ref: Reference | None
    item_ref: Reference | None
    occurred_at: datetime


@dataclass
class Resolution:
    actor_id: int = 0  # 0 with a dead letter whose learner is not known (yet)
    organization_id: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)
    dead_letter_reason: str = ""


Candidate = tuple[int, str]  # (id, external source)


@dataclass
class ReferenceResolver:
    organization_id: int | None
    default_actor_id: int | None  # the authenticated user; None for integrations, which must name the actor
    allowed_courses: set[int]
    roles: dict[int, str]  # the known people: id -> role
    item_courses: dict[int, int]
    by_name: dict[tuple[int, str, str], list[tuple[int, int | None, str]]] = field(default_factory=dict)
    # (PERSON / COURSE / ITEM, kind, value) -> [(id, course id of an item, source)]
    enrolments: dict[tuple[int, int], list[tuple[datetime, datetime | None]]] = field(default_factory=dict)
    resolved: dict[tuple[int, Reference], list[tuple[int, int | None]]] = field(default_factory=dict)

    @classmethod
    def for_batch(cls, *, principal: Any, events: Sequence[NamesReferences]) -> "ReferenceResolver":
        # One pass over the batch (it runs for every batch, up to 500 events).
        named_actors: set[int] = set()
        named_courses: set[int] = set()
        named_items: set[int] = set()
        actor_refs: set[Reference] = set()
        course_refs: set[Reference] = set()
        item_refs: set[Reference] = set()
        for e in events:
            if e.actor_id is not None:
                named_actors.add(e.actor_id)
            elif e.actor_ref is not None:
                actor_refs.add(e.actor_ref)
            if e.course_id is not None:
                named_courses.add(e.course_id)
            elif e.course_ref is not None:
                course_refs.add(e.course_ref)
            if e.item_id is not None:
                named_items.add(e.item_id)
            elif e.item_ref is not None:
                item_refs.add(e.item_ref)
        course_ids, item_ids = sorted(named_courses), sorted(named_items)
        names = actor_refs or course_refs or item_refs
        organization_id = principal.organization_id
        if isinstance(principal, User):
            default_actor = principal.pk
            # A person posts only about courses they may see (a student: their own classes); no one else.
            try:
                scope_sql, scope_params = visible_courses(principal).values("id").query.sql_with_params()
            except EmptyResultSet:  # the selector's .none(): no course at all
                scope_sql, scope_params = "SELECT NULL::bigint AS id WHERE false", ()
            actor_ids = [principal.pk]
            roles = {principal.pk: principal.role}
        else:
            default_actor = None
            scope_sql, scope_params = SCOPE_ORGANIZATION, (organization_id,)
            actor_ids = sorted(named_actors)
            roles = {}
        resolver = cls(organization_id, default_actor, set(), roles, {})
        # Without a course or item no enrolment matters, and a person's own events need no look-up.
        if not (course_ids or item_ids or names or (actor_ids and default_actor is None)):
            return resolver

        def values(kind: str, refs: set[Reference], kinds: tuple[str, ...]) -> list[str]:
            return sorted({ref.value for ref in refs if ref.kind == kind and ref.kind in kinds})

        statement, parameters = references_statement(
            scope_sql,
            {
                "organization": organization_id,
                "actor_ids": actor_ids,
                "usernames": values(USERNAME, actor_refs, ACTOR_KINDS),
                "emails": values(EMAIL, actor_refs, ACTOR_KINDS),
                "actor_external_ids": values(EXTERNAL_ID, actor_refs, ACTOR_KINDS),
                "course_ids": course_ids,
                "course_codes": values(CODE, course_refs, COURSE_KINDS),
                "course_external_ids": values(EXTERNAL_ID, course_refs, COURSE_KINDS),
                "item_ids": item_ids,
                "item_external_ids": values(EXTERNAL_ID, item_refs, ITEM_KINDS),
            },
        )
        # One round trip for the whole batch, on a prepared statement (one text per kind of principal and of names).
        with prepared_cursor() as cursor:
            cursor.execute(statement, (*scope_params, *parameters))
            rows = cursor.fetchall()
        resolver._read(rows)
        return resolver

    def _read(self, rows: list[tuple[Any, ...]]) -> None:
        by_name: defaultdict[tuple[int, str, str], list[tuple[int, int | None, str]]] = defaultdict(list)
        enrolments: defaultdict[tuple[int, int], list[tuple[datetime, datetime | None]]] = defaultdict(list)
        for kind, row_id, role, name, email, external_id, source, course_id, start, end in rows:
            if kind == ENROLMENT:
                enrolments[(row_id, course_id)].append((start, end))
                continue
            if external_id:
                by_name[(kind, EXTERNAL_ID, external_id)].append((row_id, course_id, source))
            if kind == PERSON:
                self.roles[row_id] = role
                by_name[(PERSON, USERNAME, name)].append((row_id, None, ""))
                if email:
                    by_name[(PERSON, EMAIL, email)].append((row_id, None, ""))
            elif kind == COURSE:
                self.allowed_courses.add(row_id)  # named by id or otherwise: it is in scope
                by_name[(COURSE, CODE, name)].append((row_id, None, ""))
            else:
                self.item_courses[row_id] = course_id
        self.by_name, self.enrolments = dict(by_name), dict(enrolments)

    def _named(self, table: int, ref: Reference) -> list[tuple[int, int | None]]:
        """The rows a reference names: (id, course id of an item); more than one is ambiguous. Worked out once per
        batch and reference (a batch names the same learner many times)."""
        key = (table, ref)
        named = self.resolved.get(key)
        if named is None:
            found = self.by_name.get((table, ref.kind, ref.value), [])
            named = sorted({(row_id, course) for row_id, course, source in found if ref.source in (None, source)})
            self.resolved[key] = named
        return named

    def _active_student(self, actor_id: int, course_id: int, at: datetime) -> bool:
        """Whether a student enrolment of the actor in the course was active at `at` (from enrolled_at, until
        ended_at if it ended)."""
        for start, end in self.enrolments.get((actor_id, course_id), ()):
            if start <= at and (end is None or at < end):
                return True
        return False

    def resolve(self, event: NamesReferences) -> Resolution:
        """Settle the event's actor, course and item (filling in the ids it named otherwise, and the course of its
        item): errors for what can never be right (the event is rejected), or the reason to keep it as a dead letter
        for what may become right (a person, course or item not synced yet; an enrolment recorded later)."""
        resolution = Resolution(organization_id=self.organization_id or 0)
        if self.organization_id is None:
            resolution.errors["non_field_errors"] = ["Your account belongs to no organisation."]
            return resolution
        errors = resolution.errors
        reasons: list[str] = []
        if event.actor_ref is not None:
            people = self._named(PERSON, event.actor_ref)
            if len(people) > 1:
                errors["actor"] = [self._ambiguous(event.actor_ref, len(people), "people")]
            elif not people:
                reasons.append(
                    f"unknown learner: no active person of this organisation has {event.actor_ref.describe()}"
                )
            else:
                resolution.actor_id = people[0][0]
        else:
            actor = event.actor_id if event.actor_id is not None else self.default_actor_id
            if actor is None:
                errors["actor"] = ["Required for integrations: the learner's id, username, email or external id."]
            elif actor not in self.roles:
                errors["actor"] = ["Unknown learner in this organisation."]
            else:
                resolution.actor_id = actor
        if event.course_ref is not None:
            courses = self._named(COURSE, event.course_ref)
            if len(courses) > 1:
                errors["course"] = [self._ambiguous(event.course_ref, len(courses), "courses")]
            elif not courses:
                reasons.append(f"unknown course: no course has {event.course_ref.describe()}")
            else:
                event.course_id = courses[0][0]
        elif event.course_id is not None and event.course_id not in self.allowed_courses:
            errors["course"] = ["Unknown course."]
        course_unknown = event.course_ref is not None and event.course_id is None  # already a reason or an error
        if event.item_ref is not None:
            self._item_by_name(event, event.item_ref, errors, reasons, course_unknown=course_unknown)
        elif event.item_id is not None:
            item_course = self.item_courses.get(event.item_id)
            if item_course is None:
                reasons.append("unknown learning item")
            elif course_unknown:
                pass
            elif event.course_id is None:
                event.course_id = item_course  # the item says which course it belongs to
            elif event.course_id != item_course:
                reasons.append("learning item belongs to another course")
        if errors:
            return resolution
        if not reasons and event.course_id is not None:
            # Only a class's students count in it: staff activity can never be, so it is refused; a student's event
            # outside their enrolment may become right (an enrolment recorded late), so it waits as a dead letter.
            if self.roles.get(resolution.actor_id) != Role.STUDENT:
                user = self.default_actor_id is not None
                errors["course" if user else "actor"] = [STAFF_SELF if user else STAFF_NAMED]
                return resolution
            if not self._active_student(resolution.actor_id, event.course_id, event.occurred_at):
                reasons.append(NOT_ENROLLED)
        if reasons:
            resolution.dead_letter_reason = "; ".join(reasons)[:200]
        return resolution

    def _item_by_name(
        self,
        event: NamesReferences,
        ref: Reference,
        errors: dict[str, list[str]],
        reasons: list[str],
        *,
        course_unknown: bool,
    ) -> None:
        items = self._named(ITEM, ref)
        if course_unknown:
            if not items:
                reasons.append(f"unknown learning item: no item has {ref.describe()}")
            return
        # Within the event's course when it names one (an item's external id is unique per module only).
        in_course = [row for row in items if row[1] == event.course_id] if event.course_id is not None else items
        if len(in_course) > 1:
            errors["item"] = [f"{self._ambiguous(ref, len(in_course), 'items')} Name the course too."]
        elif in_course:
            event.item_id, event.course_id = in_course[0]
        elif items:
            reasons.append("learning item belongs to another course")
        else:
            reasons.append(f"unknown learning item: no item has {ref.describe()}")

    @staticmethod
    def _ambiguous(ref: Reference, count: int, what: str) -> str:
        described = ref.describe()
        return f"{described[0].upper()}{described[1:]} matches {count} {what} in this organisation."
