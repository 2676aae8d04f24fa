from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from analytics.importers.oulad import ATTRIBUTION, organization_for_oulad, oulad_event_count, oulad_import


def _codes(value: str | None) -> set[str] | None:
    return {code.strip() for code in value.split(",") if code.strip()} if value else None


class Command(BaseCommand):
    help = (
        "Import the Open University Learning Analytics Dataset (Parquet copy) into the organisation 'oulad'. "
        "Idempotent: running it again adds nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="Folder holding courses.parquet, vle.parquet, ... and studentVle_ds/.")
        parser.add_argument("--modules", help="Comma-separated module codes to import, e.g. AAA,BBB (default: all).")
        parser.add_argument("--presentations", help="Comma-separated presentations, e.g. 2013J (default: all).")
        parser.add_argument("--no-rollups", action="store_true", help="Do not rebuild the daily rollups afterwards.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not (path / "courses.parquet").is_file():
            raise CommandError(f"{path} does not look like an OULAD copy (no courses.parquet).")
        try:
            result = oulad_import(
                path=path,
                modules=_codes(options["modules"]),
                presentations=_codes(options["presentations"]),
                rollups=not options["no_rollups"],
                now=timezone.now(),
                progress=lambda line: self.stdout.write(line),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        created = ", ".join(f"{count:,} {name}" for name, count in result.created.items())
        self.stdout.write(f"Created {created}.")
        self.stdout.write(
            f"Events: {result.events_added:,} added, {result.events_duplicate:,} already present "
            f"({result.click_rows:,} click rows → {result.click_events:,} events; "
            f"{result.skipped_clicks:,} skipped for an unknown student or site); "
            f"{oulad_event_count(organization_for_oulad()):,} OULAD events stored in all."
        )
        self.stdout.write(f"Done in {result.seconds:,.1f} s.")
        self.stdout.write(ATTRIBUTION)
