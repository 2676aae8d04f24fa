"""Teachers' verdicts on predictions (Moodle's set): kept for evaluation and counted on each model card."""

from datetime import datetime
from typing import cast

from django.utils import timezone

from accounts.models import User
from classroom.selectors import scoped_get_or_404
from risk.models import Prediction, PredictionFeedback
from risk.selectors import visible_predictions


def feedback_record(
    *, viewer: User, prediction_id: int, verdict: str, now: datetime | None = None
) -> PredictionFeedback:
    """The viewer's verdict on a prediction of a class they may see (404 otherwise): one per prediction and
    teacher, a second one replaces the first (one upsert, so two clicks at once keep one row)."""
    now = now or timezone.now()
    prediction = cast(Prediction, scoped_get_or_404(visible_predictions(viewer), prediction_id))
    [feedback] = PredictionFeedback.objects.bulk_create(
        [PredictionFeedback(prediction=prediction, teacher=viewer, verdict=verdict, created_at=now, updated_at=now)],
        update_conflicts=True,
        unique_fields=["prediction", "teacher"],
        update_fields=["verdict", "updated_at"],
    )
    # the upsert returns the row's id only: read back its first `created_at`
    return PredictionFeedback.objects.get(pk=feedback.pk)
