from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from analytics import hooks
        from live import metrics, publish, receivers

        # Registered after gamification's award hook (INSTALLED_APPS order): with inline awards the XP is already
        # in the totals when scopes are told they changed.
        hooks.on_events_stored(publish.scopes_changed)
        receivers.connect()
        metrics.register_metrics()
