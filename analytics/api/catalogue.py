"""The one place every catalogue metric is served: a GET view per registered metric (core.metrics), under its path
below /api/v1/, documented with its query parameters and its typed answer; and `analytics/catalogue`, the list of
metrics the requester may ask for, with their exportable columns.

A metric registered by any app appears here with no other code: its view, URL, schema and columns all come from
the Metric."""

from typing import Annotated, Any, ClassVar, TypedDict

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsAdministrator, IsStaffRole
from analytics.catalogue import metric_answer
from core.metrics import Audience, Metric, catalogue
from core.params import QuerySerializer, query_of
from core.schema import answer_type

PERMISSIONS: dict[Audience, list[type[BasePermission]]] = {
    Audience.EVERYONE: [IsAuthenticated],
    Audience.STAFF: [IsStaffRole],
    Audience.ADMINISTRATORS: [IsAdministrator],
}


class MetricView(APIView):
    """Validates the query (400 naming each bad parameter), then answers through analytics.catalogue."""

    metric: ClassVar[Metric]
    query_serializer: ClassVar[type[QuerySerializer]]

    def get(self, request: Request, **path_parameters: Any) -> Response:
        metric = type(self).metric
        query = {**query_of(metric.query, request.query_params), **path_parameters}
        return Response(metric_answer(metric, request=request, query=query))


def metric_view(metric: Metric) -> type[MetricView]:
    name = "".join(part.capitalize() for part in metric.name.replace("-", " ").split()) + "View"
    view = type(
        name,
        (MetricView,),
        {
            "metric": metric,
            "query_serializer": metric.query,
            "permission_classes": PERMISSIONS[metric.audience],
            "__doc__": metric.description or metric.summary,
            "__module__": __name__,
        },
    )
    decorate = extend_schema(
        summary=metric.summary,
        description=metric.description or metric.summary,
        parameters=[metric.query],
        responses={200: answer_type(metric.output)},
    )
    return decorate(view)


class ColumnOut(TypedDict):
    name: str
    type: Annotated[str, "integer, number, string, boolean, date, date-time, array or object."]
    description: str
    nullable: bool


class MetricOut(TypedDict):
    name: Annotated[str, "The metric's name (its URL name)."]
    path: Annotated[str, "Below /api/v1/."]
    summary: str
    audience: Annotated[str, "everyone, staff or administrators."]
    subject: Annotated[str, "courses, course, student, organization or ranking."]
    owner: Annotated[str, "The app that defines it."]
    parameters: Annotated[list[str], "Query parameters it accepts."]
    rows: Annotated[str | None, "The field of the answer whose items are the table rows; empty: the answer is one."]
    columns: Annotated[list[ColumnOut], "The exportable columns of one row."]


class CatalogueOut(TypedDict):
    """The metrics the requester may ask for."""

    metrics: list[MetricOut]


def _may_ask(request: Request, view: APIView, metric: Metric) -> bool:
    return all(permission().has_permission(request, view) for permission in PERMISSIONS[metric.audience])


def describe(metric: Metric) -> MetricOut:
    query: QuerySerializer = metric.query()
    return {
        "name": metric.name,
        "path": metric.path,
        "summary": metric.summary,
        "audience": str(metric.audience),
        "subject": str(metric.subject),
        "owner": metric.owner,
        "parameters": sorted(query.fields),
        "rows": metric.rows,
        "columns": [column.as_dict() for column in metric.columns()],  # type: ignore[misc]
    }


class CatalogueQuery(QuerySerializer):
    pass


@extend_schema(summary="The metrics you may ask for", responses={200: answer_type(CatalogueOut)})
class CatalogueView(APIView):
    """Every metric the requester may ask for: its path, parameters and exportable columns (for report builders
    and SPA clients)."""

    query_serializer = CatalogueQuery

    def get(self, request: Request) -> Response:
        query_of(CatalogueQuery, request.query_params)
        return Response({"metrics": [describe(metric) for metric in catalogue() if _may_ask(request, self, metric)]})


def catalogue_urlpatterns() -> list[URLPattern]:
    """A URL per registered metric (read when the URLconf is loaded, after every app registered its metrics)."""
    return [
        path("analytics/catalogue", CatalogueView.as_view(), name="analytics-catalogue"),
        *[path(metric.path, metric_view(metric).as_view(), name=metric.name) for metric in catalogue()],
    ]
