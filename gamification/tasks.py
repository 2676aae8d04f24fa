import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from analytics.hooks import StoredEvents
from gamification.services import xp_award

logger = logging.getLogger(__name__)


def enqueue_award(stored: StoredEvents) -> None:
    """After an ingestion commits: award its XP in the worker, off the request path (or at once when
    GAMIFICATION_AWARD_INLINE is set, as in tests). If the broker is down the hourly sweep (award_recent_xp) picks the
    events up."""
    if settings.GAMIFICATION_AWARD_INLINE:
        xp_award(start=stored.first, end=stored.last, now=timezone.now(), actor_ids=stored.actor_ids)
        return
    try:
        award_xp.delay(sorted(stored.actor_ids), stored.first.isoformat(), stored.last.isoformat())
    except Exception:
        logger.warning("XP award not queued; the sweep will award it", exc_info=True)


@shared_task(name="gamification.tasks.award_xp")
def award_xp(actor_ids: list[int], first: str, last: str) -> int:
    outcome = xp_award(
        start=datetime.fromisoformat(first),
        end=datetime.fromisoformat(last),
        now=timezone.now(),
        actor_ids=actor_ids,
    )
    return outcome.xp


@shared_task(name="gamification.tasks.award_recent_xp")
def award_recent_xp(days: int = 2) -> int:
    """Safety net: award any event of the last `days` that has no ledger row (a lost task, a broker outage)."""
    now = timezone.now()
    return xp_award(start=now - timedelta(days=days), end=now + timedelta(hours=1), now=now).xp
