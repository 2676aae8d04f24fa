from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from accounts.models import Organization, User
from core.serializers import RejectUnknownFieldsMixin, StrictCharField, StrictModelSerializer, StrictSerializer


class OrganizationSerializer(StrictModelSerializer):
    users_count = serializers.IntegerField(read_only=True)
    courses_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "time_zone", "users_count", "courses_count", "created_at"]
        read_only_fields = ["id", "created_at"]


class OrganizationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "time_zone"]


class MeSerializer(serializers.ModelSerializer):
    organization = OrganizationSummarySerializer(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "role",
            "organization",
            "public_handle",
            "is_superuser",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class TokenObtainSerializer(RejectUnknownFieldsMixin, TokenObtainPairSerializer):
    pass


class TokenRefreshStrictSerializer(RejectUnknownFieldsMixin, TokenRefreshSerializer):
    pass


class LogoutSerializer(StrictSerializer):
    refresh = StrictCharField(max_length=2048)


class TokenPairResponseSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
