"""Bodies and query strings of the reports API. The content of a report (dataset, columns, parameters, ...) is
checked against its dataset by reports.specs, which names the field of any error."""

from rest_framework import serializers

from core.params import ChoiceParam, CountParam, QuerySerializer
from core.serializers import ChoiceField, StrictCharField, StrictSerializer
from reports.models import Format, ReportDefinition

MAX_ID = 2**63 - 1
PREVIEW_ROWS = 20


class SortIn(StrictSerializer):
    column = StrictCharField(max_length=64)
    descending = serializers.BooleanField(default=False)


class ChartIn(StrictSerializer):
    type = ChoiceField(choices=["line", "bar"])
    x = StrictCharField(max_length=64, help_text="A chosen column: the horizontal axis.")
    y = serializers.ListField(child=StrictCharField(max_length=64), min_length=1, max_length=6)


class SpecIn(StrictSerializer):
    """What a report shows. `parameters` are the dataset's (GET /api/v1/reports/datasets lists them, as its metric's
    endpoint spells them, e.g. {"course": 12, "period": "30d"}); `row_filters` keep rows whose column has the value."""

    dataset = StrictCharField(max_length=64)
    columns = serializers.ListField(
        child=StrictCharField(max_length=64), required=False, help_text="In order; default: every column."
    )
    parameters = serializers.DictField(child=serializers.CharField(max_length=200), required=False, default=dict)
    row_filters = serializers.DictField(child=serializers.CharField(max_length=200), required=False, default=dict)
    grouping = StrictCharField(max_length=64, required=False, allow_blank=True, allow_null=True, default=None)
    sort = SortIn(many=True, required=False, default=list)
    chart = ChartIn(required=False, allow_null=True, default=None)


class DefinitionIn(SpecIn):
    name = StrictCharField(max_length=200)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    visibility = ChoiceField(choices=ReportDefinition.Visibility.choices, required=False, default="private")


class DefinitionPatch(StrictSerializer):
    """Any of the fields; a change to what the report shows (dataset, columns, ...) makes a new version."""

    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True)
    visibility = ChoiceField(choices=ReportDefinition.Visibility.choices, required=False)
    dataset = StrictCharField(max_length=64, required=False)
    columns = serializers.ListField(child=StrictCharField(max_length=64), required=False)
    parameters = serializers.DictField(child=serializers.CharField(max_length=200), required=False)
    row_filters = serializers.DictField(child=serializers.CharField(max_length=200), required=False)
    grouping = StrictCharField(max_length=64, required=False, allow_blank=True, allow_null=True)
    sort = SortIn(many=True, required=False)
    chart = ChartIn(required=False, allow_null=True)


class DocumentIn(SpecIn):
    """A report exported as JSON (GET /api/v1/reports/{id}/document)."""

    edupath_report = serializers.IntegerField(min_value=1, max_value=1, help_text="The document's format: 1.")
    name = StrictCharField(max_length=200)
    description = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")


class PreviewIn(SpecIn):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=PREVIEW_ROWS)


class GenerateIn(StrictSerializer):
    format = ChoiceField(choices=Format.choices)


class PreviewQuery(QuerySerializer):
    limit = CountParam(default=PREVIEW_ROWS, maximum=100, unit="rows", help_text="The first rows, at most 100.")


class ExportQuery(QuerySerializer):
    format = ChoiceParam(Format.values, required=True, help_text="csv, xlsx, json or pdf.")
    bom = ChoiceParam(["0", "1"], help_text="1: a byte-order mark before a CSV, for Excel.")
