"""The demo's recent activity goes through the ingestion path, is deterministic and adds nothing when re-run."""

import io
from typing import Any

from django.core.management import call_command
from django.utils import timezone

from analytics.models import LearningEvent, StudentDailyRollup
from gamification.models import XpAward


def test_demo_activity_is_ingested_once_and_earns_xp(db: None, django_capture_on_commit_callbacks: Any) -> None:
    call_command("seed_demo", "--quiet")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("generate_demo_activity", "--days", "3", stdout=io.StringIO())
    events = LearningEvent.objects.count()
    assert events > 0
    assert not LearningEvent.objects.filter(occurred_at__gt=timezone.now()).exists()
    # counted by the rollups and rewarded with XP (inline in tests, by the worker in ./dev run), like live events
    assert sum(StudentDailyRollup.objects.values_list("events", flat=True)) == events
    assert XpAward.objects.exists()
    out = io.StringIO()
    call_command("generate_demo_activity", "--days", "3", stdout=out)
    assert "0 events added" in out.getvalue()
    assert LearningEvent.objects.count() == events
