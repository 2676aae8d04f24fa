from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.models import LearningEvent
from gamification.services import xp_award_backfill


class Command(BaseCommand):
    help = (
        "Award XP (and then achievements) for stored events that have none yet, a day at a time; idempotent. "
        "Ingestion does this by itself; use it after a bulk import or a change of rules for past events."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="First UTC day (YYYY-MM-DD); default: the first stored event.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if options["since"]:
            try:
                day = date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError("--since must be a date, YYYY-MM-DD") from None
        else:
            first = LearningEvent.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
            if first is None:
                self.stdout.write("No events.")
                return
            day = first.date()
        start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        outcome = xp_award_backfill(start=start, end=now + timedelta(hours=1), now=now)
        self.stdout.write(f"Awarded {outcome.xp:,} XP for {outcome.events:,} events.")
