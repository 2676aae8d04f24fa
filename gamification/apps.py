from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification"
    verbose_name = "Gamification"

    def ready(self) -> None:
        from analytics import hooks
        from gamification import metrics, tasks

        hooks.on_events_stored(tasks.enqueue_award)
        metrics.register_metrics()
