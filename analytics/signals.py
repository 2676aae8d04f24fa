"""Cached analytics answers (analytics/cache.py) also depend on who is enrolled where and on the classes' items and
submissions: a change to those makes every cached answer stale, after commit. (Bulk writes send no signals; the
importer ends with a rollup rebuild, which does the same.)"""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from analytics.cache import answers_changed
from classroom.models import Course, Enrollment, LearningItem, Module, Submission


def _classroom_changed(sender: Any, **kwargs: Any) -> None:
    transaction.on_commit(answers_changed)


def connect() -> None:
    for model in (Course, Module, LearningItem, Enrollment, Submission):
        post_save.connect(_classroom_changed, sender=model, dispatch_uid=f"analytics-cache-{model.__name__}-save")
        post_delete.connect(_classroom_changed, sender=model, dispatch_uid=f"analytics-cache-{model.__name__}-delete")
