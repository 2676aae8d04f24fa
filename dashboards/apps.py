from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards (pages)"

    def ready(self) -> None:
        from dashboards import metrics

        metrics.register_metrics()
