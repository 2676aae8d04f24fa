"""Serializer building blocks that make bad input fail loudly instead of being coerced or ignored."""

from typing import Any

from django.db import models
from rest_framework import serializers

from core.params import one_of


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers instead of silently turning them into strings."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ChoiceField(serializers.ChoiceField):
    """A ChoiceField whose refusal names the field and lists the choices, in the project's one wording
    ("kind must be one of: quiz, video."), instead of DRF's '"x" is not a valid choice.'."""

    def to_internal_value(self, data: Any) -> Any:
        if data == "" and self.allow_blank:
            return ""
        key = str(data) if isinstance(data, str | int) and not isinstance(data, bool) else None
        if key is None or key not in self.choice_strings_to_values:
            raise serializers.ValidationError(one_of(self.field_name or "value", list(self.choice_strings_to_values)))
        return self.choice_strings_to_values[key]


class RejectUnknownFieldsMixin:
    """Answer 400 naming each field the serializer does not know, instead of dropping it silently."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    serializer_choice_field = ChoiceField
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: serializers.EmailField,
    }
