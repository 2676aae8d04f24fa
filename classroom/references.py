"""Checking the people, courses and items a batch of learning events names, in one query per batch.

Lives in classroom because it applies classroom's rules of who may see what (classroom.selectors); the analytics
ingestion calls it and never decides access itself.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import EmptyResultSet

from accounts.models import User
from classroom.selectors import visible_courses
from core.db import prepared_cursor

ACTOR, COURSE, ITEM = 1, 2, 3
# The courses an integration (an organisation's API key) may post about: all of its organisation's.
SCOPE_ORGANIZATION = "SELECT id FROM classroom_course WHERE organization_id = %s"
# Which of the named actors (1), courses (2) and items (3) exist within the principal's scope; {scope} selects the
# ids of the courses in scope (built from classroom.selectors, never from input).
REFERENCES = """
WITH scope AS ({scope})
SELECT 1, u.id, NULL::bigint FROM accounts_user u
 WHERE u.id = ANY(%s::bigint[]) AND u.organization_id = %s AND u.is_active
UNION ALL
SELECT 2, c.id, NULL FROM classroom_course c WHERE c.id = ANY(%s::bigint[]) AND c.id IN (SELECT id FROM scope)
UNION ALL
SELECT 3, i.id, m.course_id FROM classroom_learningitem i JOIN classroom_module m ON m.id = i.module_id
 WHERE i.id = ANY(%s::bigint[]) AND m.course_id IN (SELECT id FROM scope)
"""


class NamesReferences(Protocol):
    actor_id: int | None
    course_id: int | None
    item_id: int | None


@dataclass
class Resolution:
    actor_id: int = 0
    organization_id: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)
    dead_letter_reason: str = ""


@dataclass
class ReferenceResolver:
    organization_id: int | None
    default_actor_id: int | None  # the authenticated user; None for integrations, which must name the actor
    allowed_courses: set[int]
    known_actors: set[int]
    item_courses: dict[int, int]

    @classmethod
    def for_batch(cls, *, principal: Any, events: Sequence[NamesReferences]) -> "ReferenceResolver":
        course_ids = sorted({e.course_id for e in events if e.course_id is not None})
        item_ids = sorted({e.item_id for e in events if e.item_id is not None})
        organization_id = principal.organization_id
        if isinstance(principal, User):
            default_actor = principal.pk
            # A person posts only about courses they may see (a student: their own classes); no one else.
            try:
                scope_sql, scope_params = visible_courses(principal).values("id").query.sql_with_params()
            except EmptyResultSet:  # the selector's .none(): no course at all
                scope_sql, scope_params = "SELECT NULL::bigint AS id WHERE false", ()
            actor_ids: list[int] = []
        else:
            default_actor = None
            scope_sql, scope_params = SCOPE_ORGANIZATION, (organization_id,)
            actor_ids = sorted({e.actor_id for e in events if e.actor_id is not None})
        if not (course_ids or item_ids or actor_ids):
            actors = {default_actor} if default_actor is not None else set()
            return cls(organization_id, default_actor, set(), actors, {})
        # One round trip for the whole batch, on a prepared statement (its text is fixed per kind of principal).
        with prepared_cursor() as cursor:
            cursor.execute(
                REFERENCES.format(scope=scope_sql),
                (*scope_params, actor_ids, organization_id, course_ids, item_ids),
            )
            rows = cursor.fetchall()
        actors = {row[1] for row in rows if row[0] == ACTOR}
        if default_actor is not None:
            actors.add(default_actor)
        courses = {row[1] for row in rows if row[0] == COURSE}
        # An item outside the scope is treated exactly like one that does not exist.
        items = {row[1]: row[2] for row in rows if row[0] == ITEM}
        return cls(organization_id, default_actor, courses, actors, items)

    def resolve(self, event: NamesReferences) -> Resolution:
        resolution = Resolution(organization_id=self.organization_id or 0)
        if self.organization_id is None:
            resolution.errors["non_field_errors"] = ["Your account belongs to no organisation."]
            return resolution
        actor = event.actor_id if event.actor_id is not None else self.default_actor_id
        if actor is None:
            resolution.errors["actor"] = ["Required for integrations: the id of the learner."]
        elif actor not in self.known_actors:
            resolution.errors["actor"] = ["Unknown learner in this organisation."]
        else:
            resolution.actor_id = actor
        if event.course_id is not None and event.course_id not in self.allowed_courses:
            resolution.errors["course"] = ["Unknown course."]
        if resolution.errors:
            return resolution
        if event.item_id is not None:
            item_course = self.item_courses.get(event.item_id)
            if item_course is None:
                resolution.dead_letter_reason = "unknown learning item"
            elif event.course_id is None:
                event.course_id = item_course  # the item says which course it belongs to
            elif event.course_id != item_course:
                resolution.dead_letter_reason = "learning item belongs to another course"
        return resolution
