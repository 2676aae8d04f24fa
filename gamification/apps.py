from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "gamification"
    verbose_name = "Gamification"

    def ready(self) -> None:
        from analytics import hooks
        from classroom.hooks import StudentFigure, add_student_figure
        from gamification import metrics, selectors, tasks

        hooks.on_events_stored(tasks.enqueue_award)
        metrics.register_metrics()
        # seed 001's users/{id}: a student's profile shows their XP total (classroom asks through its hook)
        add_student_figure(
            StudentFigure(
                name="total_xp",
                description="The student's XP total (all time, in their school; for a teacher, earned in the classes "
                "they teach), as their progress page shows it.",
                compute=selectors.total_xp,
            )
        )
