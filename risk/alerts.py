"""Alerts: raised from predictions (called by scoring after it saves them), pushed live to the class's staff, and
moved through their lifecycle open → acknowledged → resolved by the teachers of the class."""

from datetime import datetime
from functools import partial
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from classroom.models import Course
from classroom.selectors import scoped_get_or_404, visible_courses
from core.exceptions import ApplicationError
from core.realtime import group_send_many
from messaging.services import message_send
from risk.models import Alert, Intervention, Prediction

# What a teacher can do about each kind of factor, keyed by a word of the factor's feature name (first match
# wins, strongest factor first). The figures come from the factor's own text, never from here.
ACTIONS = (
    ("missing", "Remind them about the work not handed in"),
    ("late", "Talk about handing work in on time"),
    ("submission", "Remind them about the work not handed in"),
    ("score", "Offer help with the topics where their scores are low"),
    ("days_since", "Get in touch: they have not been active lately"),
    ("trend", "Ask how things are going: their activity is falling"),
    ("active_days", "Encourage regular study: they are active on fewer days than the class"),
    ("events", "Encourage regular study: they are less active than the class"),
    ("activity", "Encourage regular study: they are less active than the class"),
    ("items", "Point them to the items they have not opened yet"),
    ("attempt", "Check what got in the way last time they took this class"),
    ("enrolled", "Check they have what they need to catch up"),
)
# Alert messages handed to the channel layer at once: each hand-over must finish within
# core.realtime.SEND_TIMEOUT_SECONDS (a group send to Redis takes well under a millisecond).
SEND_BATCH = 500
DEFAULT_ACTION = "Talk with them about how the class is going"


def alerts_group(course_id: int) -> str:
    """A class's alert stream, `course.<id>.alerts` (the live app subscribes its staff; live.groups names it)."""
    return f"course.{course_id}.alerts"


def suggested_action(factors: list[dict[str, Any]]) -> str:
    """A plain-language next step from the prediction's strongest factor that raises the risk, quoting its text
    (which holds the student's and the class's figures)."""
    raising = [factor for factor in factors if factor.get("effect") != "lowers"] or factors
    if not raising:
        return DEFAULT_ACTION + "."
    top = raising[0]
    feature = str(top.get("feature", "")).lower()
    action = next((text for word, text in ACTIONS if word in feature), DEFAULT_ACTION)
    detail = str(top.get("text", "")).strip()
    return f"{action} ({detail})." if detail else f"{action}."


def raises_alert(prediction: Prediction) -> bool:
    """High risk by the model, or (without an active model) a transparent rule fired."""
    if prediction.level == Prediction.Level.HIGH:
        return True
    return prediction.by_rules and prediction.level != Prediction.Level.INSUFFICIENT and bool(prediction.factors)


def alert_message(alert: Alert, *, name: str) -> dict[str, Any]:
    """The seed's `alert` message (fields of seed 000) as the class's `alerts` channel carries it (live/consumers.py
    forwards type `alert.raised` as `alert`)."""
    return {
        "type": "alert.raised",
        "alert": alert.pk,
        "course": alert.course_id,
        "student": alert.student_id,
        "name": name,
        "risk_level": alert.level,
        "risk_score": alert.probability,
        "by_rules": alert.probability is None,
        "factors": alert.factors,
        "recommendation": alert.suggested_action,
        "created_at": alert.created_at.isoformat(),
    }


def alerts_for_predictions(predictions: list[Prediction]) -> list[Alert]:
    """Open an alert for each prediction that calls for one, unless its student already has an open or acknowledged
    alert in that class (nightly scoring must not repeat it); return the alerts opened and push each on the class's
    `alerts` stream after commit.

    Concurrent runs are safe: the database's partial unique constraint decides, and the insert skips conflicts."""
    candidates = [prediction for prediction in predictions if raises_alert(prediction)]
    if not candidates:
        return []
    pairs = {(prediction.student_id, prediction.course_id) for prediction in candidates}
    live = set(
        Alert.objects.filter(
            student_id__in={student for student, _ in pairs},
            course_id__in={course for _, course in pairs},
            status__in=(Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED),
        ).values_list("student_id", "course_id")
    )
    organizations = dict(
        Course.objects.filter(pk__in={course for _, course in pairs}).values_list("pk", "organization_id")
    )
    now = timezone.now()
    fresh: dict[tuple[int, int], Alert] = {}
    for prediction in candidates:
        pair = (prediction.student_id, prediction.course_id)
        if pair in live or pair in fresh:
            continue
        fresh[pair] = Alert(
            organization_id=organizations[prediction.course_id],
            course_id=prediction.course_id,
            student_id=prediction.student_id,
            enrollment_id=prediction.enrollment_id,
            prediction=prediction,
            level=prediction.level,
            probability=prediction.probability,
            factors=prediction.factors,
            suggested_action=suggested_action(prediction.factors),
            created_at=now,
        )
    if not fresh:
        return []
    with transaction.atomic():
        # ON CONFLICT DO NOTHING: an alert another run opened meanwhile wins; ours is skipped.
        Alert.objects.bulk_create(list(fresh.values()), ignore_conflicts=True)
        opened = list(
            Alert.objects.filter(prediction_id__in=[alert.prediction_id for alert in fresh.values()], created_at=now)
            .select_related("student")
            .order_by("course_id", "student_id")
        )
        messages = [
            (
                alerts_group(alert.course_id),
                alert_message(alert, name=alert.student.display_name),
            )
            for alert in opened
        ]
        # After commit (as broadcast_on_commit), in hand-overs of SEND_BATCH: a first night can open thousands.
        for start in range(0, len(messages), SEND_BATCH):
            transaction.on_commit(partial(group_send_many, messages[start : start + SEND_BATCH]))
    return opened


# SECTION: lifecycle


def alert_in_scope(*, viewer: User, alert_id: int) -> Alert:
    """An alert of a class the viewer may see (staff only; the API refuses students before this); 404 otherwise."""
    alerts = Alert.objects.filter(course__in=visible_courses(viewer))
    return cast(Alert, scoped_get_or_404(alerts.select_for_update(of=("self",)), alert_id))


def alert_acknowledge(*, viewer: User, alert_id: int, now: datetime | None = None) -> Alert:
    """open → acknowledged (a teacher has seen it). Acknowledging again changes nothing; a resolved alert: 400."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = alert_in_scope(viewer=viewer, alert_id=alert_id)
        if alert.status == Alert.Status.RESOLVED:
            raise ApplicationError("This alert is resolved already.", errors={"status": ["Resolved."]})
        if alert.status == Alert.Status.OPEN:
            alert.status = Alert.Status.ACKNOWLEDGED
            alert.acknowledged_at, alert.acknowledged_by = now, viewer
            alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    return alert


def alert_resolve(*, viewer: User, alert_id: int, now: datetime | None = None) -> Alert:
    """open or acknowledged → resolved (an open alert is acknowledged on the way). Resolving again: 400. Once
    resolved, the student may be alerted again by a later prediction."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = alert_in_scope(viewer=viewer, alert_id=alert_id)
        if alert.status == Alert.Status.RESOLVED:
            raise ApplicationError("This alert is resolved already.", errors={"status": ["Resolved."]})
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, viewer
        alert.status = Alert.Status.RESOLVED
        alert.resolved_at, alert.resolved_by = now, viewer
        alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by"])
    return alert


# SECTION: interventions


def intervention_log(
    *,
    viewer: User,
    alert_id: int,
    kind: str,
    note: str = "",
    subject: str = "",
    body: str = "",
    now: datetime | None = None,
) -> Intervention:
    """Log what the viewer did about an alert of a class they may see (404 otherwise). A message (kind `message`)
    is sent to the student through the class messaging, which logs it, and linked here; all in one transaction,
    so a refused message logs nothing. An open alert is acknowledged by it; a resolved one takes none (400)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = alert_in_scope(viewer=viewer, alert_id=alert_id)
        if alert.status == Alert.Status.RESOLVED:
            raise ApplicationError(
                "This alert is resolved: log the intervention on a new alert.", errors={"alert": ["Resolved."]}
            )
        message = None
        if kind == Intervention.Kind.MESSAGE:
            if not subject.strip() or not body.strip():
                missing = [name for name, text in (("subject", subject), ("body", body)) if not text.strip()]
                raise ApplicationError(
                    "A message needs a subject and a body.", errors={name: ["Required."] for name in missing}
                )
            message = message_send(
                sender=viewer,
                course_id=alert.course_id,
                student_ids=[alert.student_id],
                subject=subject,
                body=body,
                now=now,
            ).message
        if alert.status == Alert.Status.OPEN:
            alert.status = Alert.Status.ACKNOWLEDGED
            alert.acknowledged_at, alert.acknowledged_by = now, viewer
            alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
        return Intervention.objects.create(
            alert=alert, teacher=viewer, kind=kind, note=note.strip(), message=message, created_at=now
        )
