from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from recommendations.assist import gemini_check
from recommendations.models import AssistantSettings


class Command(BaseCommand):
    help = (
        "Tell whether the configured GEMINI_API_KEY and model answer: one tiny call (no budget, no cache), printing "
        "the model, the latency and the outcome; exits non-zero when Gemini did not answer."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--organization",
            help="Slug of an organisation: check its model (AssistantSettings) and record the call against it.",
        )
        parser.add_argument("--model", help="Model to ask (default: the organisation's, else GEMINI_MODEL).")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = None
        if options["organization"]:
            organization = Organization.objects.filter(slug=options["organization"]).first()
            if organization is None:
                raise CommandError(f"No organisation with the slug {options['organization']!r}.")
        model = options["model"]
        if not model and organization is not None:
            assistant = AssistantSettings.objects.filter(organization=organization).first()
            model = assistant.model if assistant is not None else ""
        model = model or settings.GEMINI_MODEL
        if not settings.GEMINI_API_KEY:
            raise CommandError(
                "GEMINI_API_KEY is empty: set it in the environment (or .env) to use Gemini. Until then every page "
                "shows EduPath's own text."
            )
        endpoint = settings.GEMINI_BASE_URL or "Google's default endpoint"
        result = gemini_check(model=model, organization_id=organization.pk if organization is not None else None)
        latency = f"{result.latency_ms} ms" if result.latency_ms is not None else "-"
        line = f"model {result.model} at {endpoint}: {result.outcome} in {latency}"
        if result.input_tokens is not None or result.output_tokens is not None:
            line += f" (tokens in {result.input_tokens}, out {result.output_tokens})"
        if not result.ok:
            raise CommandError(f"Gemini did not answer: {line}. {result.error}")
        self.stdout.write(f"Gemini answered: {line}.")
