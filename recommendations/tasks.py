"""Recommendations' Celery tasks. Tasks take ids, load and call one service.

Learning paths, goals and next steps follow the event store (analytics.hooks, registered in recommendations.apps):
an ingestion notes each of its learners in Redis with a key that lives REFRESH_KEY_SECONDS, and only a learner not
noted yet queues a refresh, REFRESH_DELAY_SECONDS later. So a burst of events queues at most one task per learner,
and the task, running after the burst, sees all of it (and the XP that gamification awards within a second of
ingestion, which weekly XP goals count). The task forgets its learners' keys before it reads, so events stored while
it runs queue a new one.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from analytics.hooks import StoredEvents
from core.redis import cache_redis
from recommendations import ranker, services
from recommendations.difficulty import difficulty_derive
from recommendations.goals import goals_check, goals_close_due
from recommendations.paths import path_progress_refresh

logger = logging.getLogger(__name__)

REFRESH_KEY = "edupath:recommendations:progress-queued:{}"
REFRESH_DELAY_SECONDS = 5
# A learner's key outlives the delay: a task lost on its way (broker restart) delays their next refresh by this
# much at most (and the nightly goals_close_due closes their due goals anyway).
REFRESH_KEY_SECONDS = 60
# A task older than this is stale (its learners were noted again since, or the worker was down for long): dropped.
REFRESH_EXPIRES_SECONDS = 600


def enqueue_progress_refresh(stored: StoredEvents) -> None:
    """After an ingestion commits: queue one refresh for those of its learners without one queued. Redis or the
    broker down: logged; the next ingestion (or the nightly check) catches up. Off where no worker serves the queue
    (RECOMMENDATIONS_REFRESH_QUEUED false, as in the test settings: the broker would only pile up tasks)."""
    learners = sorted(stored.actor_ids)
    if not learners or not settings.RECOMMENDATIONS_REFRESH_QUEUED:
        return
    try:
        pipe = cache_redis().pipeline(transaction=False)
        for learner in learners:
            pipe.set(REFRESH_KEY.format(learner), 1, nx=True, ex=REFRESH_KEY_SECONDS)
        noted = [learner for learner, was_set in zip(learners, pipe.execute(), strict=True) if was_set]
        if noted:
            progress_refresh.apply_async(
                args=(noted,), countdown=REFRESH_DELAY_SECONDS, expires=REFRESH_EXPIRES_SECONDS
            )
    except Exception:
        logger.warning("path and goal refresh not queued for %s", learners, exc_info=True)


@shared_task(name="recommendations.tasks.progress_refresh")
def progress_refresh(student_ids: list[int]) -> int:
    """Recompute these learners' path progress, check their goals (announcing new milestones), note what became of
    their recommendations and refresh them (announced live); returns the milestones reached."""
    if not student_ids:
        return 0
    cache_redis().delete(*[REFRESH_KEY.format(student_id) for student_id in student_ids])
    now = timezone.now()
    path_progress_refresh(student_ids=student_ids, now=now)
    reached = len(goals_check(student_ids=student_ids, now=now))
    # what they did with earlier suggestions, then fresh ones (announced live)
    services.outcomes_record(student_ids=student_ids, now=now)
    services.refresh_students(student_ids=student_ids, now=now)
    return reached


@shared_task(name="recommendations.tasks.goals_close_due")
def goals_close_due_task() -> int:
    """Nightly: close goals whose due date has passed (missed, or achieved for weekly goals met at least once) and
    recheck weekly goals, for learners who sent no event since; returns the learners checked."""
    return goals_close_due(now=timezone.now())


@shared_task(name="recommendations.tasks.derive_difficulty")
def derive_difficulty() -> int:
    """Nightly: item difficulty derived from classmates' scores and time (items a person set are kept)."""
    return difficulty_derive()


@shared_task(name="recommendations.tasks.train_ranker_all")
def train_ranker_all() -> int:
    """Weekly: a new next-step ranker per organisation with classes to learn from; returns the versions made."""
    from accounts.models import Organization

    now = timezone.now()
    made = 0
    for organization_id in Organization.objects.values_list("pk", flat=True):
        if ranker.ranker_train(organization_id=organization_id, until=now, now=now) is not None:
            made += 1
    return made


@shared_task(name="recommendations.tasks.refresh_all")
def refresh_all() -> int:
    """Nightly: every running class's students get fresh next steps; returns the students served."""
    return services.refresh_all(now=timezone.now())
