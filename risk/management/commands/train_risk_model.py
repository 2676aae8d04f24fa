from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from risk.management.commands._moment import moment
from risk.training import TrainingError, train


class Command(BaseCommand):
    help = (
        "Train a version of the at-risk model on the courses that ended before --as-of (default: now), measure it by "
        "cross-validation grouped by course and activate it if it passes the acceptance gate."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--as-of", help="Learn only from courses that ended before this date-time (ISO 8601).")
        parser.add_argument("--organization", help="Slug of the organisation (default: across organisations).")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = moment(options["as_of"])
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organisation with the slug {options['organization']!r}.")
        try:
            version = train(
                as_of=as_of,
                organization=organization,
                progress=lambda percent: self.stdout.write(f"{percent} %") if options["verbosity"] > 1 else None,
            )
        except TrainingError as error:
            raise CommandError(str(error)) from None
        metrics = version.metrics
        self.stdout.write(
            f"Model version {version.pk} ({version.algorithm}): {version.training['samples']} samples of "
            f"{version.training['enrollments']} enrolments in {len(version.training['courses'])} courses; "
            f"ROC AUC {metrics['roc_auc']:.3f}, PR AUC {metrics['pr_auc']:.3f}, Brier {metrics['brier']:.3f}, "
            f"MCC {metrics['mcc']:.3f} at {version.threshold_high:.2f}."
        )
        self.stdout.write(version.decision)
