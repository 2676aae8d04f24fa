from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from classroom.models import Course
from recommendations.services import refresh_all, refresh_course


class Command(BaseCommand):
    help = (
        "Write fresh next steps for the active students of every running class (as the nightly beat job does), or of "
        "the classes named with --course."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--course", nargs="+", metavar="CODE", help="Only these classes (by code).")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        if not options["course"]:
            students = refresh_all(now=now)
            self.stdout.write(f"Next steps written for {students} students of the running classes.")
            return
        codes = set(options["course"])
        courses = list(Course.objects.filter(code__in=codes))
        unknown = sorted(codes - {course.code for course in courses})
        if unknown:
            raise CommandError(f"No course with the code {', '.join(map(repr, unknown))}.")
        students = sum(refresh_course(course=course, now=now).students for course in courses)
        self.stdout.write(f"Next steps written for {students} students of {len(courses)} classes.")
