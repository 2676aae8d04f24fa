from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics.services import dead_letters_replay


class Command(BaseCommand):
    help = "Store dead-lettered learning events whose problem has been fixed (e.g. their items now exist)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=10_000)

    def handle(self, *args: Any, **options: Any) -> None:
        stored, pending = dead_letters_replay(now=timezone.now(), limit=options["limit"])
        self.stdout.write(f"Replayed {stored} dead letter(s); {pending} still pending.")
