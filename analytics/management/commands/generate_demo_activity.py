"""Generate the demo school's learning activity of the last few weeks, through the tracking API's own path
(analytics.services.events_ingest, as each student), so rollups, XP and achievements follow as they would live.

Deterministic: a seeded generator decides who is active when, and every event id is derived from the student, the
course, the day and the event's number, so running it again (on the same day) adds nothing, and running it the next
day adds only the new day. Times lie between 08:00 and 20:00 in the school's time zone and never in the future.
"""

import random
import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import Organization, User
from accounts.selectors import organization_zone
from analytics.services import events_ingest
from classroom.models import Enrollment, LearningItem

DEMO_NAMESPACE = uuid.UUID("3f0c9a52-6c2e-4c11-9d0b-2d6b7a1e5f40")  # fixed: re-runs rely on the same ids
VIEW_ACTIONS = {
    LearningItem.Kind.LESSON: ("lesson_start", "lesson_complete"),
    LearningItem.Kind.RESOURCE: ("material_view", "material_complete"),
    LearningItem.Kind.VIDEO: ("video_play", "video_complete"),
    LearningItem.Kind.QUIZ: ("quiz_attempt", "quiz_submit"),
    LearningItem.Kind.ASSIGNMENT: ("material_view", "assignment_submit"),
}


class Command(BaseCommand):
    help = "Generate recent learning activity for the demo school through the ingestion path (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--organization", default="demo", help="Slug of the organisation (default: demo).")
        parser.add_argument("--days", type=int, default=28, help="How many days back, today included (1-90).")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["days"] <= 90:
            raise CommandError("--days must be between 1 and 90")
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organisation {options['organization']!r}: run seed_demo first.")
        now = timezone.now()
        zone = organization_zone(organization)
        today = now.astimezone(zone).date()
        enrolments = (
            Enrollment.objects.active_students()
            .filter(course__organization=organization)
            .select_related("user", "course")
            .order_by("user__username", "course__code")
        )
        items: dict[int, list[LearningItem]] = {}
        for item in LearningItem.objects.filter(module__course__organization=organization).order_by(
            "module__position", "position", "id"
        ):
            items.setdefault(item.module.course_id, []).append(item)
        accepted = duplicates = 0
        for enrolment in enrolments:
            course_items = items.get(enrolment.course_id, [])
            if not course_items:
                continue
            student: User = enrolment.user
            # Each student keeps a steady habit: how often they show up and how far they get each time.
            habit = random.Random(f"{options['seed']}:{student.username}:{enrolment.course.code}")  # noqa: S311
            presence, stamina = habit.uniform(0.25, 0.9), habit.randint(2, 7)
            for back in range(options["days"] - 1, -1, -1):
                day = today - timedelta(days=back)
                rng = random.Random(f"{options['seed']}:{student.username}:{enrolment.course.code}:{day}")  # noqa: S311
                if rng.random() > presence * (0.5 if day.weekday() >= 5 else 1.0):
                    continue
                events = self.session(rng, student, enrolment.course_id, course_items, day, zone, stamina, now)
                if events:
                    outcome = events_ingest(items=events, principal=student, now=now, horizon=None)
                    accepted, duplicates = accepted + outcome.accepted, duplicates + outcome.duplicates
        self.stdout.write(f"Demo activity: {accepted:,} events added, {duplicates:,} already present.")

    @staticmethod
    def session(
        rng: random.Random,
        student: User,
        course_id: int,
        items: list[LearningItem],
        day: Any,
        zone: ZoneInfo,
        stamina: int,
        now: datetime,
    ) -> list[dict[str, Any]]:
        moment = datetime.combine(day, time(8), tzinfo=zone) + timedelta(minutes=rng.randint(0, 11 * 60))
        session_id = f"demo-{student.pk}-{day}-{course_id}"
        events: list[dict[str, Any]] = []

        def add(action: str, item: LearningItem | None = None, **metadata: Any) -> None:
            nonlocal moment
            if moment > now:
                return
            body: dict[str, Any] = {
                "event_id": str(uuid.uuid5(DEMO_NAMESPACE, f"{student.username}:{course_id}:{day}:{len(events)}")),
                "action": action,
                "timestamp": moment.isoformat(),
                "session_id": session_id,
                "course": course_id,
                "metadata": metadata,
            }
            if item is not None:
                body.update(item=item.pk, resource_type=item.kind, resource_id=str(item.pk))
            events.append(body)
            moment += timedelta(seconds=metadata.get("duration", 30) + rng.randint(5, 90))

        add("session_start")
        for item in rng.sample(items, k=min(stamina, len(items))):
            start, finish = VIEW_ACTIONS[LearningItem.Kind(item.kind)]
            minutes = item.estimated_minutes or 10
            add(start, item, duration=rng.randint(60, 60 * minutes))
            if rng.random() < 0.6:
                if finish in ("quiz_submit", "assignment_submit"):
                    # Handed in only before the due time (a hand-in records its submission, and the student's last
                    # one counts: later ones would turn the demo's timeliness late); seed_demo gives the late ones.
                    if item.due_at is not None and moment > item.due_at:
                        continue
                    maximum = int(item.max_points or 10)
                    score = min(maximum, max(0, round(rng.gauss(0.72, 0.18) * maximum)))
                    add(finish, item, duration=rng.randint(120, 900), score=score, max_score=maximum, attempts=1)
                else:
                    add(finish, item, duration=rng.randint(30, 300))
        add("session_end", duration=0)
        return events
