"""Next steps over the API (under /api/v1/recommendations/): a student's own (students), a student's in scope
(staff, `?student=`: a teacher sees what was recommended in the classes they teach, with what became of it),
feedback, dismiss and open, the assistant's words on a student's next steps and a teacher's intervention ideas on an
alert. Someone else's recommendation, or a student outside the requester's scope, is answered 404."""

from datetime import datetime
from typing import Annotated, Any, Required, TypedDict, cast

from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from classroom.selectors import courses_in_common, scoped_get_or_404, sees_whole_student, student_in_scope
from core.params import MAX_ID, CountParam, IdParam, NoQuery, QuerySerializer, query_of
from core.schema import answer_type
from core.serializers import ChoiceField, StrictSerializer
from recommendations import assist, services
from recommendations.models import Category, Recommendation, RecommendationFeedback
from recommendations.selectors import best_first, recommendations_for
from risk.models import Alert
from risk.selectors import visible_alerts

MAX_LIMIT = 50
MAX_COMMENTS = 2000


# SECTION: query strings and bodies


class RecommendationQuery(QuerySerializer):
    student = IdParam(
        help_text="Staff: a student you may see (a teacher: one of your classes). Students: yourself, the default."
    )
    limit = CountParam(default=10, maximum=MAX_LIMIT, unit="recommendations", help_text="1 to 50 (default 10).")
    category = ChoiceField(choices=Category.choices, required=False, help_text="Only this category.")
    history = serializers.BooleanField(
        default=False,
        help_text="Staff: also earlier recommendations (dismissed, superseded, completed), newest first, with "
        "what the student did with them.",
    )


class StudentQuery(QuerySerializer):
    student = IdParam(
        help_text="Staff: a student you may see (a teacher: one of your classes). Students: yourself, the default."
    )


class RecommendationFeedbackIn(StrictSerializer):
    """Seed 000's feedback: the recommendation, a rating from 1 to 5, whether it helped, and comments. Giving
    feedback again on the same recommendation updates it."""

    recommendation_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    rating = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    helpful = serializers.BooleanField(required=False, allow_null=True)
    feedback = ChoiceField(
        choices=RecommendationFeedback.Verdict.choices, required=False, help_text="helpful, not_helpful or irrelevant."
    )
    comments = serializers.CharField(max_length=MAX_COMMENTS, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("rating") is None and attrs.get("helpful") is None and not attrs.get("feedback"):
            raise serializers.ValidationError({"rating": ["Give a rating, helpful or feedback (or several)."]})
        return attrs


# SECTION: answers


class SignalOut(TypedDict, total=False):
    """One fact behind a recommendation; which fields it has depends on its `kind` (recommendations.reasoning)."""

    kind: Required[
        Annotated[str, "due_soon, mastery_gap, class_recent, class_uptake, similar_students or planned_week."]
    ]
    due_at: Annotated[str, "due_soon: when the work is due (ISO 8601)."]
    days_left: Annotated[int, "due_soon: whole days until then."]
    handed_in: Annotated[int, "due_soon: classmates who handed it in."]
    classmates: Annotated[int, "due_soon, class_recent: the student's classmates."]
    module: Annotated[str, "mastery_gap: the module's title."]
    student_mean: Annotated[float, "mastery_gap: the student's mean score there, in percent."]
    class_mean: Annotated[float, "mastery_gap: the classmates' mean score there, in percent."]
    classmates_scored: Annotated[int, "mastery_gap: classmates with a score there."]
    opened_7d: Annotated[int, "class_recent: classmates who opened it in the last 7 days."]
    since: Annotated[str, "class_recent: the first day of those 7 (ISO 8601)."]
    new_7d: Annotated[int, "class_uptake: classmates who opened it for the first time in those 7 days."]
    had_not_opened: Annotated[int, "class_uptake: classmates who had not opened it before them."]
    opened_next_week: Annotated[int, "similar_students: those of them who opened it the following week."]
    neighbours: Annotated[int, "similar_students: classmates whose history was most like the student's."]
    week: Annotated[int, "planned_week: the week the item is planned for."]
    current_week: Annotated[int, "planned_week: the course's current week."]


class GivenFeedbackOut(TypedDict):
    rating: int | None
    helpful: bool | None
    feedback: Annotated[str, "helpful, not_helpful, irrelevant or empty."]
    comments: str


class RecommendationOut(TypedDict):
    id: int
    category: Annotated[str, "course, resource, activity or skill."]
    type: Annotated[str, "The seed's name for the category."]
    title: str
    description: Annotated[str, "Where it is: the module (unit) of the class."]
    course: Annotated[int | None, "The class."]
    item: Annotated[int | None, "The learning item (resources and activities)."]
    module: Annotated[int | None, "The module (skills; and where an item sits)."]
    kind: Annotated[str, "The item's kind (lesson, resource, video, quiz, assignment); empty for skills."]
    relevance_score: Annotated[float, "0 to 1: the engine's score, relative to the best in the class."]
    confidence: Annotated[float, "0 to 1: how much data stands behind it."]
    reasoning: Annotated[str, "Plain language, written only from `signals`."]
    signals: Annotated[list[SignalOut], "The facts that produced it (each recomputable from stored data)."]
    prerequisites: list[str]
    expected_outcomes: list[str]
    difficulty: Annotated[str, "beginner, intermediate, advanced, or empty when unknown."]
    estimated_time: Annotated[int | None, "Minutes, when known."]
    estimated_time_source: Annotated[str, "item (set on the item), classmates (their median) or empty."]
    tags: list[str]
    strategy: Annotated[str, "The engine and version that produced it."]
    status: Annotated[str, "active, dismissed, superseded or completed."]
    created: datetime
    expires: datetime
    shown_at: datetime | None
    clicked_at: datetime | None
    dismissed_at: datetime | None
    completed_at: Annotated[datetime | None, "When the student opened or completed it within 7 days."]
    feedback: Annotated[GivenFeedbackOut | None, "The student's feedback: rating, helpful, feedback, comments."]


class RecommendationListOut(TypedDict):
    student: int
    recommendations: list[RecommendationOut]
    total: Annotated[int, "How many are listed."]
    timestamp: datetime


class RecommendationFeedbackOut(TypedDict):
    recommendation_id: int
    rating: int | None
    helpful: bool | None
    feedback: str
    comments: str
    created: datetime
    updated: datetime


class AssistOut(TypedDict):
    text: str
    source: Annotated[str, "gemini or local (written by EduPath from the data)."]
    note: Annotated[str, "Why the text is local, or that Gemini wrote it; show it beside the text."]
    sentences: Annotated[dict[str, str], "Per item id: a sentence about it."]


class IdeasOut(TypedDict):
    alert: int
    ideas: list[str]
    source: Annotated[str, "gemini or local."]
    note: str


def recommendation_out(recommendation: Recommendation, *, show_feedback: bool = True) -> RecommendationOut:
    feedback: GivenFeedbackOut | None = None
    try:
        given = recommendation.feedback
    except RecommendationFeedback.DoesNotExist:
        given = None
    if given is not None and show_feedback:
        feedback = {
            "rating": given.rating,
            "helpful": given.helpful,
            "feedback": given.verdict,
            "comments": given.comments,
        }
    return {
        "id": recommendation.pk,
        "category": recommendation.category,
        "type": recommendation.category,
        "title": recommendation.title,
        "description": recommendation.description,
        "course": recommendation.course_id,
        "item": recommendation.item_id,
        "module": recommendation.module_id,
        "kind": recommendation.kind,
        "relevance_score": recommendation.relevance_score,
        "confidence": recommendation.confidence,
        "reasoning": recommendation.reasoning,
        "signals": [cast(SignalOut, {k: v for k, v in s.items() if k != "module_id"}) for s in recommendation.signals],
        "prerequisites": recommendation.prerequisites,
        "expected_outcomes": recommendation.expected_outcomes,
        "difficulty": recommendation.difficulty,
        "estimated_time": recommendation.estimated_minutes,
        "estimated_time_source": recommendation.estimated_time_source,
        "tags": recommendation.tags,
        "strategy": recommendation.strategy,
        "status": recommendation.status,
        "created": recommendation.created_at,
        "expires": recommendation.expires_at,
        "shown_at": recommendation.shown_at,
        "clicked_at": recommendation.clicked_at,
        "dismissed_at": recommendation.dismissed_at,
        "completed_at": recommendation.completed_at,
        "feedback": feedback,
    }


def feedback_out(feedback: RecommendationFeedback) -> RecommendationFeedbackOut:
    return {
        "recommendation_id": feedback.recommendation_id,
        "rating": feedback.rating,
        "helpful": feedback.helpful,
        "feedback": feedback.verdict,
        "comments": feedback.comments,
        "created": feedback.created_at,
        "updated": feedback.updated_at,
    }


# SECTION: views


class RecommendationsView(APIView):
    @property
    def viewer(self) -> User:
        return cast(User, self.request.user)

    def scoped(self, student_id: int | None) -> tuple[User, Any]:
        """The student asked about, and the classes whose recommendations the viewer sees (None: all)."""
        student = student_in_scope(self.viewer, student_id)
        if sees_whole_student(self.viewer, student):
            return student, None
        return student, courses_in_common(self.viewer, student).values("pk")


def _own(viewer: User) -> QuerySet[Recommendation]:
    return Recommendation.objects.filter(student=viewer)


class RecommendationListView(RecommendationsView):
    """Next steps for you (students), or for a student (staff, `?student=`; seed 000's
    `/recommendations/{user_id}`): items of your classes to open next, work due soon, modules to strengthen — each
    with the facts behind it. Best first across classes. Staff may add `history=true` to see earlier ones and what
    the student did with them (shown, opened, dismissed, completed, feedback)."""

    query_serializer = RecommendationQuery

    @extend_schema(
        operation_id="recommendations_list",
        summary="Next steps of a student",
        parameters=[RecommendationQuery],
        responses={200: answer_type(RecommendationListOut)},
    )
    def get(self, request: Request) -> Response:
        query = query_of(RecommendationQuery, request.query_params)
        student, course_ids = self.scoped(query.get("student"))
        own = student.pk == self.viewer.pk
        history = bool(query["history"]) and not own
        found = recommendations_for(
            student_id=student.pk,
            category=query.get("category"),
            limit=query["limit"] if history else MAX_LIMIT * 4,
            include_history=history,
            course_ids=course_ids,
        )
        if not history:
            found = best_first(found)[: query["limit"]]
        now = timezone.now()
        if own:
            services.recommendation_shown(recommendations=found, now=now)
        answer: RecommendationListOut = {
            "student": student.pk,
            "recommendations": [recommendation_out(r) for r in found],
            "total": len(found),
            "timestamp": now,
        }
        return Response(answer)


class FeedbackView(RecommendationsView):
    """Your feedback on one of your recommendations (students): a rating from 1 to 5, whether it helped, a verdict
    and comments. Giving it again updates it (200); the first time answers 201. Items you rate 1 or 2, or call not
    helpful or irrelevant, are not suggested again for a while; classmates' ratings weigh an item's ranking."""

    query_serializer = NoQuery
    also_answers = (status.HTTP_404_NOT_FOUND,)  # the recommendation named in the body is not yours (or missing)

    @extend_schema(
        operation_id="recommendations_feedback",
        summary="Feedback on a recommendation",
        parameters=[],
        request=RecommendationFeedbackIn,
        responses={200: answer_type(RecommendationFeedbackOut), 201: answer_type(RecommendationFeedbackOut)},
    )
    def post(self, request: Request) -> Response:
        query_of(NoQuery, request.query_params)
        given = RecommendationFeedbackIn(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        recommendation = cast(Recommendation, scoped_get_or_404(_own(self.viewer), data["recommendation_id"]))
        feedback, created = services.feedback_give(
            recommendation=recommendation,
            rating=data.get("rating"),
            helpful=data.get("helpful"),
            verdict=data.get("feedback") or "",
            comments=data.get("comments", ""),
            now=timezone.now(),
        )
        return Response(feedback_out(feedback), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class DismissView(RecommendationsView):
    """Dismiss one of your active next steps (students): it is not suggested again for RECOMMENDATIONS_DISMISS_DAYS
    and your list is refreshed at once, so another takes its place; the answer is your new list."""

    query_serializer = NoQuery

    @extend_schema(
        operation_id="recommendations_dismiss",
        summary="Dismiss a next step",
        parameters=[],
        request=None,
        responses={200: answer_type(RecommendationListOut)},
    )
    def post(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        recommendation = cast(Recommendation, scoped_get_or_404(_own(self.viewer), pk))
        now = timezone.now()
        services.recommendation_dismiss(recommendation=recommendation, now=now)
        found = recommendations_for(student_id=self.viewer.pk, limit=MAX_LIMIT)
        found = best_first(found)[:10]
        services.recommendation_shown(recommendations=found, now=now)
        answer: RecommendationListOut = {
            "student": self.viewer.pk,
            "recommendations": [recommendation_out(r) for r in found],
            "total": len(found),
            "timestamp": now,
        }
        return Response(answer)


class OpenView(RecommendationsView):
    """Note that you followed one of your next steps (students): its `clicked_at` is set once."""

    query_serializer = NoQuery

    @extend_schema(
        operation_id="recommendations_open",
        summary="Follow a next step",
        parameters=[],
        request=None,
        responses={200: answer_type(RecommendationOut)},
    )
    def post(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        recommendation = cast(Recommendation, scoped_get_or_404(_own(self.viewer), pk))
        recommendation = services.recommendation_clicked(recommendation=recommendation, now=timezone.now())
        return Response(recommendation_out(recommendation))


class ExplanationView(RecommendationsView):
    """A short, encouraging explanation of a student's top next steps: written by Gemini when the school turned it
    on (only a pseudonymous label, figures and the chosen items are sent), else by EduPath from the same facts;
    `note` says which, and why. The next steps and their figures are always the engine's."""

    query_serializer = StudentQuery

    @extend_schema(
        operation_id="recommendations_explanation",
        summary="Explanation of a student's next steps",
        parameters=[StudentQuery],
        responses={200: answer_type(AssistOut)},
    )
    def get(self, request: Request) -> Response:
        query = query_of(StudentQuery, request.query_params)
        student, course_ids = self.scoped(query.get("student"))
        found = recommendations_for(student_id=student.pk, limit=10, course_ids=course_ids)
        text = assist.student_explanation(student=student, recommendations=found)
        answer: AssistOut = {
            "text": text.text,
            "source": text.source,
            "note": text.note,
            "sentences": {str(key): value for key, value in text.sentences.items()},
        }
        return Response(answer)


class InterventionIdeasView(RecommendationsView):
    """Ideas for helping a student on one of your alerts (staff who see the alert): by Gemini when the school turned
    it on, else from the alert's own factors; `note` says which."""

    query_serializer = NoQuery

    @extend_schema(
        operation_id="recommendations_intervention_ideas",
        summary="Intervention ideas for an alert",
        parameters=[],
        responses={200: answer_type(IdeasOut)},
    )
    def get(self, request: Request, pk: int) -> Response:
        query_of(NoQuery, request.query_params)
        alert = cast(Alert, scoped_get_or_404(visible_alerts(self.viewer), pk))
        ideas = assist.intervention_ideas(alert=alert)
        answer: IdeasOut = {"alert": alert.pk, "ideas": ideas.ideas, "source": ideas.source, "note": ideas.note}
        return Response(answer)


urlpatterns = [
    path("recommendations/", RecommendationListView.as_view(), name="recommendations"),
    path("recommendations/feedback", FeedbackView.as_view(), name="recommendation-feedback"),
    path("recommendations/explanation", ExplanationView.as_view(), name="recommendation-explanation"),
    path("recommendations/<int:pk>/dismiss", DismissView.as_view(), name="recommendation-dismiss"),
    path("recommendations/<int:pk>/open", OpenView.as_view(), name="recommendation-open"),
    path("recommendations/alerts/<int:pk>/ideas", InterventionIdeasView.as_view(), name="recommendation-alert-ideas"),
]
