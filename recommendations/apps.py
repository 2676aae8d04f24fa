from typing import Any

from django.apps import AppConfig


def path_progress_of(student_id: int, course_ids: Any) -> list[Any]:
    from accounts.models import User
    from recommendations.paths import paths_for_student

    return list(paths_for_student(User.objects.get(pk=student_id), course_ids=course_ids))


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from analytics import hooks
        from recommendations import tasks

        # learning paths and goals follow each learner's events: one coalesced refresh per learner (tasks.py)
        hooks.on_events_stored(tasks.enqueue_progress_refresh)
        # and their path progress is part of analytics' progress-tracking figures
        hooks.on_path_progress(path_progress_of)
