from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from analytics import hooks
        from recommendations import tasks

        # learning paths and goals follow each learner's events: one coalesced refresh per learner (tasks.py)
        hooks.on_events_stored(tasks.enqueue_progress_refresh)
