from django.apps import AppConfig


class GoogleClassroomConfig(AppConfig):
    name = "google_classroom"
    verbose_name = "Google Classroom"

    def ready(self) -> None:
        from google_classroom import jobs

        jobs.register()
