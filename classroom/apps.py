from django.apps import AppConfig


class ClassroomConfig(AppConfig):
    name = "classroom"
    verbose_name = "Classroom"

    def ready(self) -> None:
        from classroom.roster import JOB_KIND, RosterImportResult
        from core.jobs import JobKind, job_kind_register

        # Large roster files run as jobs; GET /api/v1/jobs/{id} documents their result.
        job_kind_register(JobKind(name=JOB_KIND, result=RosterImportResult))
