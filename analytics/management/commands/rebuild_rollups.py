from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.services import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute the daily rollups from raw learning events (idempotent; resumes an interrupted run)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--since", help="First local day to recompute (YYYY-MM-DD); default: the first event.")
        parser.add_argument("--chunk-days", type=int, default=7)
        parser.add_argument("--restart", action="store_true", help="Ignore the checkpoint of an interrupted run.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            since = date.fromisoformat(options["since"]) if options["since"] else None
        except ValueError:
            raise CommandError("--since must be a date, YYYY-MM-DD") from None
        until = timezone.now().date() + timedelta(days=1)
        chunks = rollups_rebuild(
            since=since, until=until, chunk_days=options["chunk_days"], resume=not options["restart"]
        )
        self.stdout.write(f"Rebuilt daily rollups in {chunks} chunk(s) through {until}.")
