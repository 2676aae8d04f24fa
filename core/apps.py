from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from core import schema  # noqa: F401  (registers how the OpenAPI schema describes typed answers and parameters)
