from rest_framework import serializers

from core.serializers import StrictSerializer
from gamification.selectors import TIMEFRAMES


class ProgressQuery(StrictSerializer):
    student = serializers.IntegerField(required=False, min_value=1, help_text="Staff: a student they may see.")
    days = serializers.IntegerField(required=False, default=30, min_value=1, max_value=365)


class WeeklyXpQuery(StrictSerializer):
    student = serializers.IntegerField(required=False, min_value=1, help_text="Staff: a student they may see.")


class LeaderboardQuery(StrictSerializer):
    course = serializers.IntegerField(required=False, min_value=1, help_text="Omit for the whole organisation.")
    timeframe = serializers.ChoiceField(choices=sorted(TIMEFRAMES), required=False, default="week")
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=100)


class StudentProgressQuery(StrictSerializer):
    student = serializers.IntegerField(required=False, min_value=1, help_text="Staff: a student they may see.")
    course = serializers.IntegerField(required=False, min_value=1, help_text="Only this course.")
