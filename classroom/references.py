"""Checking the people, courses and items a batch of learning events names, in a few queries per batch.

Lives in classroom because it applies classroom's rules of who may see what (classroom.selectors); the analytics
ingestion calls it and never decides access itself.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from accounts.models import User
from classroom.models import Course, LearningItem
from classroom.selectors import visible_courses


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
        course_ids = {e.course_id for e in events if e.course_id is not None}
        item_ids = {e.item_id for e in events if e.item_id is not None}
        if isinstance(principal, User):
            organization_id = principal.organization_id
            default_actor = principal.pk
            # A person posts only about courses they may see (a student: their own classes).
            scope = visible_courses(principal)
            actors = {principal.pk}
        else:
            organization_id = principal.organization_id
            default_actor = None
            scope = Course.objects.filter(organization_id=organization_id)
            actor_ids = {e.actor_id for e in events if e.actor_id is not None}
            actors = set(
                User.objects.filter(id__in=actor_ids, organization_id=organization_id, is_active=True).values_list(
                    "id", flat=True
                )
            )
        courses = set(scope.filter(id__in=course_ids).values_list("id", flat=True)) if course_ids else set()
        # An item outside the scope is treated exactly like one that does not exist.
        items = (
            dict(
                LearningItem.objects.filter(id__in=item_ids, module__course__in=scope).values_list(
                    "id", "module__course_id"
                )
            )
            if item_ids
            else {}
        )
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
