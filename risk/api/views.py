"""The risk API under /api/v1/risk/: model cards and training, a student's risk, alerts and their lifecycle, feedback
on predictions and interventions. Staff only: teachers see their classes, administrators their organisation
(classroom.selectors through risk.selectors); a student gets 404 for every risk URL, as if none existed, because
students never receive risk scores."""

from datetime import datetime
from typing import Annotated, Any, TypedDict, cast

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.permissions import is_administrator, is_staff_role
from classroom.selectors import scoped_get_or_404
from core.params import NoQuery, query_of
from core.schema import answer_type
from messaging.services import RateLimited
from risk import selectors
from risk.alerts import alert_acknowledge, alert_resolve, intervention_log
from risk.api.serializers import (
    AlertQuery,
    FeedbackIn,
    InterventionIn,
    InterventionQuery,
    ReengagementQuery,
)
from risk.feedback import feedback_record
from risk.models import Alert, ModelVersion
from risk.selectors import AlertOut, InterventionOut, ModelCard
from risk.services import train_request


class IsRiskStaff(BasePermission):
    """Teachers and administrators. Anyone else signed in is answered 404, as for a URL that does not exist."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # 401
        if not is_staff_role(user):
            raise NotFound
        return True


class IsRiskAdministrator(IsRiskStaff):
    """Administrators (and platform operators); teachers 403; students 404."""

    message = "Only administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and is_administrator(request.user)


class RiskView(APIView):
    permission_classes = [IsRiskStaff]
    # students are answered 404 on every risk URL, with or without an id in it
    also_answers: tuple[int, ...] = (status.HTTP_404_NOT_FOUND,)

    @property
    def viewer(self) -> User:
        return cast(User, self.request.user)


# SECTION: models


class ModelListOut(TypedDict):
    models: Annotated[list[ModelCard], "Newest first."]


class ModelListView(RiskView):
    """Every trained version of the risk model for your school (and those trained across schools), newest first:
    training data, cross-validated metrics, the acceptance decision and teachers' feedback counts."""

    query_serializer = NoQuery

    @extend_schema(
        operation_id="risk_models_list", summary="The risk model's versions", responses={200: answer_type(ModelListOut)}
    )
    def get(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        return Response({"models": selectors.model_cards(organization_id=self.viewer.organization_id)})


@extend_schema(summary="One version of the risk model", responses={200: answer_type(ModelCard)})
class ModelDetailView(RiskView):
    """A version's model card: what it learned from, its metrics on courses it never saw (ROC AUC, PR AUC, Brier
    score, calibration, per course and stage), feature importance, why it was activated or rejected, and the verdicts
    teachers gave its predictions."""

    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        version = cast(ModelVersion, scoped_get_or_404(selectors.visible_model_versions(self.viewer), pk))
        return Response(selectors.model_card(version))


class TrainAccepted(TypedDict):
    """The training job, queued."""

    job: int
    status: Annotated[str, "queued, running, succeeded or failed."]
    status_url: Annotated[str, "Follow the job's progress and result here."]


@extend_schema(
    summary="Train a new version now (administrators)", request=None, responses={202: answer_type(TrainAccepted)}
)
class ModelTrainView(RiskView):
    """Queue the training of a new version for your school on the classes that have ended with results. It becomes
    active only if it passes the acceptance gate; follow the job at `status_url`."""

    permission_classes = [IsRiskAdministrator]

    def post(self, request: Request) -> Response:
        job = train_request(requested_by=self.viewer, organization=self.viewer.organization)
        url = f"/api/v1/jobs/{job.pk}"
        return Response(
            {"job": job.pk, "status": job.status, "status_url": url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


# SECTION: students


@extend_schema(summary="A student's risk: latest and history", responses={200: answer_type(selectors.StudentRiskOut)})
class StudentRiskView(RiskView):
    """The student's latest prediction in each of their classes you may see (a teacher: their own classes), and
    every prediction there, newest first, to show the trend. Predictions by the rules say so (`by_rules`)."""

    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        return Response(selectors.student_risk(viewer=self.viewer, student_id=pk))


# SECTION: alerts


class AlertListOut(TypedDict):
    """The seed's predictive alerts (000): each with student, risk level, risk score, factors, recommendation and
    when it was raised."""

    alerts: Annotated[list[AlertOut], "Newest first."]
    count: Annotated[int, "Alerts matching the filters (the list stops at `limit`)."]
    timestamp: datetime


class AlertListView(RiskView):
    """Alerts raised when a student of your classes entered high risk (or, without an active model, a rule fired):
    one open alert per student and class. Filter by class, student, status and level. Also served at the seed's
    `GET /api/v1/realtime-analytics/predictive-alerts`."""

    query_serializer = AlertQuery

    @extend_schema(
        operation_id="risk_alerts_list",
        summary="Alerts on students at risk",
        parameters=[AlertQuery],
        responses={200: answer_type(AlertListOut)},
    )
    def get(self, request: Request) -> Response:
        query = query_of(AlertQuery, request.query_params)
        alerts = selectors.alert_list(
            viewer=self.viewer,
            course_id=query.get("course"),
            student_id=query.get("student"),
            status=query.get("status"),
            level=query.get("level"),
        )
        shown = [selectors.alert_out(alert) for alert in alerts[: query["limit"]]]
        return Response({"alerts": shown, "count": alerts.count(), "timestamp": timezone.now()})


@extend_schema(summary="One alert", responses={200: answer_type(selectors.AlertDetailOut)})
class AlertDetailView(RiskView):
    """An alert of your classes, with the interventions logged on it."""

    query_serializer = NoQuery

    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        alerts = selectors.visible_alerts(self.viewer).select_related("student", "course")
        return Response(selectors.alert_detail(cast(Alert, scoped_get_or_404(alerts, pk))))


@extend_schema(summary="Acknowledge an alert", request=None, responses={200: answer_type(selectors.AlertDetailOut)})
class AlertAcknowledgeView(RiskView):
    """open → acknowledged: you have seen it (again: no change). A resolved alert: 400."""

    def post(self, request: Request, pk: int) -> Response:
        alert = alert_acknowledge(viewer=self.viewer, alert_id=pk)
        return Response(selectors.alert_detail(Alert.objects.select_related("student", "course").get(pk=alert.pk)))


@extend_schema(summary="Resolve an alert", request=None, responses={200: answer_type(selectors.AlertDetailOut)})
class AlertResolveView(RiskView):
    """open or acknowledged → resolved. The student may be alerted again by a later prediction. Already resolved:
    400."""

    def post(self, request: Request, pk: int) -> Response:
        alert = alert_resolve(viewer=self.viewer, alert_id=pk)
        return Response(selectors.alert_detail(Alert.objects.select_related("student", "course").get(pk=alert.pk)))


# SECTION: feedback and interventions


class FeedbackOut(TypedDict):
    id: int
    prediction: int
    verdict: Annotated[str, "useful, not_useful, incorrectly_flagged or not_applicable."]
    created_at: datetime
    updated_at: datetime


@extend_schema(summary="Your verdict on a prediction", request=FeedbackIn, responses={200: answer_type(FeedbackOut)})
class FeedbackView(RiskView):
    """Mark a prediction of your classes useful, not useful, incorrectly flagged or not applicable. One verdict per
    prediction and teacher: sending another replaces it. Counted on the model card and kept for evaluation."""

    def post(self, request: Request) -> Response:
        given = FeedbackIn(data=request.data)
        given.is_valid(raise_exception=True)
        feedback = feedback_record(
            viewer=self.viewer,
            prediction_id=given.validated_data["prediction"],
            verdict=given.validated_data["verdict"],
        )
        answer: FeedbackOut = {
            "id": feedback.pk,
            "prediction": feedback.prediction_id,
            "verdict": feedback.verdict,
            "created_at": feedback.created_at,
            "updated_at": feedback.updated_at,
        }
        return Response(answer)


class InterventionListOut(TypedDict):
    interventions: Annotated[list[InterventionOut], "Newest first."]
    count: Annotated[int, "Interventions matching the filters (the list stops at `limit`)."]


class InterventionView(RiskView):
    """Log what you did about an alert of your classes: a message (sent to the student through the class messaging,
    which logs it, and linked here; `subject` and `body` required), a meeting, an extension or other, with a note.
    An open alert becomes acknowledged; a resolved alert takes none (400). Messages count towards
    MESSAGING_MAX_PER_HOUR (429). GET lists the interventions of your classes."""

    query_serializer = InterventionQuery
    also_answers = (status.HTTP_404_NOT_FOUND, status.HTTP_429_TOO_MANY_REQUESTS)

    @extend_schema(
        summary="Interventions logged in your classes",
        parameters=[InterventionQuery],
        responses={200: answer_type(InterventionListOut)},
    )
    def get(self, request: Request) -> Response:
        query = query_of(InterventionQuery, request.query_params)
        interventions = selectors.intervention_list(
            viewer=self.viewer, course_id=query.get("course"), alert_id=query.get("alert")
        )
        shown = [selectors.intervention_out(intervention) for intervention in interventions[: query["limit"]]]
        return Response({"interventions": shown, "count": interventions.count()})

    @extend_schema(
        summary="Log an intervention on an alert",
        request=InterventionIn,
        responses={201: answer_type(InterventionOut)},
    )
    def post(self, request: Request) -> Response:
        given = InterventionIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            intervention = intervention_log(
                viewer=self.viewer,
                alert_id=data["alert"],
                kind=data["kind"],
                note=data["note"],
                subject=data["subject"],
                body=data["body"],
            )
        except RateLimited as limited:
            raise Throttled(wait=limited.retry_after, detail=str(limited)) from None
        return Response(selectors.intervention_out(intervention), status=status.HTTP_201_CREATED)


class ReengagementView(RiskView):
    """Were students active again within 7 days after an intervention, beside students of the same risk level in the
    same class with no intervention over the same days? Per class and per teacher, over your classes (or one), only
    windows already over. An observational comparison, not a measured effect (the answer's `label` says so)."""

    query_serializer = ReengagementQuery

    @extend_schema(
        summary="Re-engagement after interventions, against comparable students",
        parameters=[ReengagementQuery],
        responses={200: answer_type(selectors.Reengagement)},
    )
    def get(self, request: Request) -> Response:
        query = query_of(ReengagementQuery, request.query_params)
        courses = selectors.risk_courses(self.viewer)
        if query.get("course") is not None:
            courses = courses.filter(pk=query["course"])
            if not courses.exists():
                raise NotFound
        course_ids = list(courses.values_list("pk", flat=True))
        return Response(selectors.reengagement(course_ids=course_ids, now=timezone.now()))


class PredictiveAlertsView(AlertListView):
    """Seed 000's name for `GET /api/v1/risk/alerts`: the same alerts, filters and answer."""

    @extend_schema(
        operation_id="realtime_analytics_predictive_alerts",
        summary="Alerts on students at risk (seed 000's path)",
        parameters=[AlertQuery],
        responses={200: answer_type(AlertListOut)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)
