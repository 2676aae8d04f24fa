from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Role, User
from classroom import selectors
from classroom.hooks import student_figures
from classroom.models import Course, Enrollment, LearningItem


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "role"]
        read_only_fields = fields


class UserListSerializer(serializers.ModelSerializer):
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
            "is_active",
            "date_joined",
            "last_login",
        ]
        read_only_fields = fields


class CourseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    title = serializers.CharField()


class TeacherStatsSerializer(serializers.Serializer):
    total_classes = serializers.IntegerField()
    total_students = serializers.IntegerField()
    classes = CourseRefSerializer(many=True)


class StudentEnrollmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    course = CourseRefSerializer()
    status = serializers.CharField()
    enrolled_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)


class StudentStatsSerializer(serializers.Serializer):
    total_enrollments = serializers.IntegerField()
    active_enrollments = serializers.IntegerField()
    enrollments = StudentEnrollmentSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # The figures other apps add (classroom.hooks), typed in the schema like the declared ones.
        fields = super().get_fields()
        for figure in student_figures():
            fields[figure.name] = serializers.IntegerField(help_text=figure.description)
        return fields


class UserDetailSerializer(UserListSerializer):
    teacher_stats = serializers.SerializerMethodField()
    student_stats = serializers.SerializerMethodField()

    class Meta(UserListSerializer.Meta):
        fields = [*UserListSerializer.Meta.fields, "teacher_stats", "student_stats"]
        read_only_fields = fields

    @extend_schema_field(TeacherStatsSerializer(allow_null=True))
    def get_teacher_stats(self, user: User) -> dict[str, Any] | None:
        if user.role != Role.TEACHER:
            return None
        summary = selectors.teacher_summary(teacher=user, viewer=self.context["request"].user)
        return TeacherStatsSerializer(summary).data

    @extend_schema_field(StudentStatsSerializer(allow_null=True))
    def get_student_stats(self, user: User) -> dict[str, Any] | None:
        if user.role != Role.STUDENT:
            return None
        summary = selectors.student_summary(student=user, viewer=self.context["request"].user)
        return StudentStatsSerializer(summary).data


class CourseSerializer(serializers.ModelSerializer):
    students_count = serializers.IntegerField(read_only=True)
    modules_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "organization",
            "title",
            "code",
            "subject",
            "start_date",
            "end_date",
            "time_zone",
            "external_source",
            "external_id",
            "students_count",
            "modules_count",
        ]
        read_only_fields = fields


class EnrollmentSerializer(serializers.ModelSerializer):
    user = PersonSerializer(read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "course", "user", "role", "status", "enrolled_at", "ended_at"]
        read_only_fields = fields


class ModuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    position = serializers.IntegerField()


class LearningItemSerializer(serializers.ModelSerializer):
    course = serializers.IntegerField(source="module.course_id", read_only=True)
    module = ModuleRefSerializer(read_only=True)

    class Meta:
        model = LearningItem
        fields = [
            "id",
            "course",
            "module",
            "kind",
            "title",
            "position",
            "max_points",
            "due_at",
            "estimated_minutes",
        ]
        read_only_fields = fields
