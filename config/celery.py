"""The Celery application. Settings come from Django settings (CELERY_* names); the beat schedule from
config/schedule.py, so every periodic job is listed in one place."""

import os

from celery import Celery

from config.schedule import BEAT_SCHEDULE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("edupath")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.beat_schedule = BEAT_SCHEDULE
app.autodiscover_tasks()
