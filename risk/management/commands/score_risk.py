import csv
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from classroom.models import Course
from risk.management.commands._moment import moment
from risk.models import Prediction
from risk.scoring import score


class Command(BaseCommand):
    help = (
        "Predict the risk of every active student enrolment of the courses running at --as-of (default: now), "
        "optionally only the courses named, and raise alerts; --csv also writes "
        "course_code,username,probability,risk_level for each enrolment scored."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--as-of", help="The moment to score as of (ISO 8601 date-time).")
        parser.add_argument("--course", nargs="+", metavar="CODE", help="Only these courses (by code).")
        parser.add_argument("--csv", metavar="PATH", help="Also write the predictions to this CSV file.")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = moment(options["as_of"])
        course_ids = None
        if options["course"]:
            codes = set(options["course"])
            found = dict(Course.objects.filter(code__in=codes).values_list("pk", "code"))
            unknown = sorted(codes - set(found.values()))
            if unknown:
                raise CommandError(f"No course with the code {', '.join(map(repr, unknown))}.")
            course_ids = sorted(found)
        target = Path(options["csv"]) if options["csv"] else None
        if target is not None and not target.parent.is_dir():
            raise CommandError(f"Cannot write {target}: the folder {target.parent} does not exist.")
        if target is not None and not os.access(target.parent, os.W_OK):
            raise CommandError(f"Cannot write {target}: the folder {target.parent} is not writable.")

        predictions = score(as_of=as_of, course_ids=course_ids)
        levels = {level: sum(p.level == level for p in predictions) for level in Prediction.Level.values}
        self.stdout.write(
            f"{len(predictions)} enrolments scored as of {as_of.isoformat()}: "
            + ", ".join(f"{count} {level}" for level, count in levels.items())
            + "."
        )
        if target is not None:
            self._write_csv(target, predictions)
            self.stdout.write(f"Wrote {target}.")

    def _write_csv(self, target: Path, predictions: list[Prediction]) -> None:
        """Written to a temporary file beside the target and renamed: a reader never sees half a file."""
        rows = (
            Prediction.objects.filter(pk__in=[p.pk for p in predictions])
            .order_by("course__code", "student__username")
            .values_list("course__code", "student__username", "probability", "level")
        )
        handle, temporary = tempfile.mkstemp(dir=target.parent, suffix=".csv.part")
        try:
            with os.fdopen(handle, "w", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(["course_code", "username", "probability", "risk_level"])
                for code, username, probability, level in rows:
                    writer.writerow([code, username, "" if probability is None else f"{probability:.4f}", level])
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
