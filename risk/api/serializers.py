"""Bodies and query strings of the risk API (answers are the TypedDicts of risk.selectors)."""

from rest_framework import serializers

from core.params import ChoiceParam, CountParam, IdParam, QuerySerializer
from core.serializers import ChoiceField, StrictCharField, StrictSerializer
from messaging.models import SUBJECT_MAX_CHARS
from risk.models import Alert, Intervention, Prediction, PredictionFeedback

MAX_ID = 2**63 - 1
NOTE_MAX_CHARS = 2000


class AlertQuery(QuerySerializer):
    course = IdParam(help_text="Only this class (one you may see).")
    student = IdParam(help_text="Only this student (one you may see); the seed's `user_id`.")
    status = ChoiceParam(Alert.Status.values, help_text="open, acknowledged or resolved.")
    level = ChoiceParam(Prediction.Level.values, help_text="The risk level when the alert was raised.")
    limit = CountParam(default=100, maximum=500, unit="alerts", help_text="Newest first, at most this many.")


class InterventionQuery(QuerySerializer):
    course = IdParam(help_text="Only this class (one you may see).")
    alert = IdParam(help_text="Only on this alert (one you may see).")
    limit = CountParam(default=100, maximum=500, unit="interventions", help_text="Newest first, at most this many.")


class ReengagementQuery(QuerySerializer):
    course = IdParam(help_text="Only this class (one you may see); default: all of your classes.")


class FeedbackIn(StrictSerializer):
    prediction = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="A prediction of your classes.")
    verdict = ChoiceField(choices=PredictionFeedback.Verdict.choices)


class InterventionIn(StrictSerializer):
    """What you did about an alert. `kind: message` sends `subject` and `body` to the student through the class
    messaging (both required then) and links the message."""

    alert = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="An open or acknowledged alert.")
    kind = ChoiceField(choices=Intervention.Kind.choices)
    note = StrictCharField(required=False, allow_blank=True, max_length=NOTE_MAX_CHARS, default="")
    subject = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, default="", help_text=f"At most {SUBJECT_MAX_CHARS}."
    )
    body = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        default="",
        help_text="At most MESSAGING_MAX_BODY_CHARS characters.",
    )
