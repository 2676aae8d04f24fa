from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Role, User
from accounts.services import external_pair_error, user_email_taken
from accounts.validators import validate_time_zone
from classroom import selectors
from classroom.hooks import student_figures
from classroom.models import Course, Difficulty, DifficultySource, Enrollment, LearningItem, Module
from classroom.services import ITEM_OUTCOMES_MAX, ITEM_PREREQUISITES_MAX, ITEM_TAGS_MAX, labels_problems
from core.params import MAX_ID
from core.serializers import ChoiceField, StrictCharField, StrictSerializer


class PersonSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "role"]
        read_only_fields = fields


class UserListSerializer(serializers.ModelSerializer):
    # Not `format: email`: a person created without an address (the write API, an importer) has "" here.
    email = serializers.CharField(read_only=True, help_text="The email address; empty when none is known.")

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
            "external_source",
            "external_id",
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
    final_result = ChoiceField(
        choices=[("", "Not known yet"), *Enrollment.FinalResult.choices],
        read_only=True,
        help_text="The enrolment's outcome: pass, distinction, fail or withdrawn; empty until known.",
    )

    class Meta:
        model = Enrollment
        fields = ["id", "course", "user", "role", "status", "enrolled_at", "ended_at", "final_result", "result_at"]
        read_only_fields = fields


class ModuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    position = serializers.IntegerField()


DIFFICULTY_HELP = "beginner, intermediate or advanced; empty when not known."
DIFFICULTY_SOURCE_HELP = (
    "Where the difficulty comes from: `set` by a person (derivation never overwrites it), `derived` from classmates' "
    "scores and time; empty when there is none."
)
WEEKS_HELP = "The week of the course from which the item is planned to be used (0: before the first week)."


class LearningItemSerializer(serializers.ModelSerializer):
    """An item as everyone who may see it reads it. Lists prefetch `prerequisites` (ids only)."""

    course = serializers.IntegerField(source="module.course_id", read_only=True)
    module = ModuleRefSerializer(read_only=True)
    difficulty = ChoiceField(
        choices=[("", "Not known"), *Difficulty.choices], read_only=True, help_text=DIFFICULTY_HELP
    )
    difficulty_source = ChoiceField(
        choices=[("", "None"), *DifficultySource.choices],
        read_only=True,
        help_text=DIFFICULTY_SOURCE_HELP,
    )
    prerequisites: "serializers.PrimaryKeyRelatedField[LearningItem]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of the items that should come first."
    )

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
            "difficulty",
            "difficulty_source",
            "tags",
            "prerequisites",
            "prerequisite_skills",
            "expected_outcomes",
            "activity_type",
            "week_from",
            "week_to",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "activity_type": {
                "help_text": "The source system's own type of the item (OULAD: oucontent, forumng, ...)."
            },
            "week_from": {"help_text": WEEKS_HELP},
            "week_to": {"help_text": "The last week of the course in which the item is planned to be used."},
        }


# SECTION: writes (the write API). Each body is checked here for types and bounds, then handed to one service,
# which applies the rules Django admin applies too (classroom.services, accounts.services).

MAX_POSITIVE_INTEGER = 2_147_483_647  # PostgreSQL integer: positions and minutes


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class ScopedIdField(serializers.PrimaryKeyRelatedField):
    """The id of a row the requester may name here: `scope` gives those from the serializer's context (the course
    the view found in the path). Any other id, of another organisation or of nothing, is refused with the same
    message, so an answer never tells which ids exist."""

    default_error_messages = {
        "does_not_exist": "No {noun} with id {pk_value} that you may name here.",
        "incorrect_type": "An id (a whole number) is required.",
    }

    def __init__(self, *, noun: str, scope: Callable[[dict[str, Any]], QuerySet[Any]], **kwargs: Any) -> None:
        self.noun, self.scope = noun, scope
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return self.scope(self.context)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type")
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", noun=self.noun, pk_value=data)
        found = self.get_queryset().filter(pk=data).first()
        if found is None:
            self.fail("does_not_exist", noun=self.noun, pk_value=data)
        return found


class LabelListField(serializers.ListField):
    """A list of an item's short texts (tags, skills, outcomes): each a string, trimmed, 1 to `longest` characters;
    at most `most` of them, none twice (the service's rule, classroom.services.labels_problems). Each refusal is a
    plain message on the field ("tags": ["Tag 3 is longer than 64 characters."]), as the documented 400 answer has
    them, rather than DRF's errors per list position."""

    def __init__(self, *, noun: str, most: int, longest: int, **kwargs: Any) -> None:
        self.noun, self.most, self.longest = noun, most, longest
        # The child and bounds describe the field in the schema; to_internal_value applies them.
        child = StrictCharField(min_length=1, max_length=longest)
        super().__init__(child=child, max_length=most, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, list):
            raise serializers.ValidationError(f"A list of {self.noun}s (strings) is required.")
        if len(data) > self.most:
            raise serializers.ValidationError(f"At most {self.most} {self.noun}s.")
        values, problems = [], []
        for position, value in enumerate(data, start=1):
            if not isinstance(value, str):
                problems.append(f"{self.noun.capitalize()} {position} is not a string.")
                continue
            value = value.strip()
            if not value:
                problems.append(f"{self.noun.capitalize()} {position} is empty.")
            elif len(value) > self.longest:
                problems.append(f"{self.noun.capitalize()} {position} is longer than {self.longest} characters.")
            else:
                try:  # the string field's own validators (no NUL character, which PostgreSQL cannot store)
                    self.child.run_validation(value)
                except serializers.ValidationError as error:
                    problems += [f"{self.noun.capitalize()} {position}: {message}" for message in error.detail]
            values.append(value)
        if problems:
            raise serializers.ValidationError(problems)
        problems = labels_problems(values, noun=self.noun, most=self.most)
        if problems:
            raise serializers.ValidationError(problems)
        return values

    def to_representation(self, value: Any) -> list[str]:
        return list(value)


class ScopedIdListField(serializers.ListField):
    """Ids of rows the requester may name here (`scope`, as ScopedIdField), at most `most`, each once; read in one
    query. Every id outside the scope is refused with the same message, whether it exists or not."""

    def __init__(self, *, noun: str, most: int, scope: Callable[[dict[str, Any]], QuerySet[Any]], **kwargs: Any):
        self.noun, self.most, self.scope = noun, most, scope
        child = serializers.IntegerField(min_value=1, max_value=MAX_ID)
        super().__init__(child=child, max_length=most, **kwargs)

    def to_internal_value(self, data: Any) -> list[Any]:
        if not isinstance(data, list) or any(isinstance(pk, bool) or not isinstance(pk, int) for pk in data):
            raise serializers.ValidationError("A list of ids (whole numbers) is required.")
        if len(data) > self.most:
            raise serializers.ValidationError(f"At most {self.most} {self.noun}s.")
        twice = sorted({pk for pk in data if data.count(pk) > 1})
        if twice:
            raise serializers.ValidationError(f"Given twice: {', '.join(map(str, twice))}.")
        in_range = [pk for pk in data if 1 <= pk <= MAX_ID]
        found = {row.pk: row for row in self.scope(self.context).filter(pk__in=in_range)} if in_range else {}
        missing = [pk for pk in data if pk not in found]
        if missing:
            raise serializers.ValidationError(
                [f"No {self.noun} with id {pk} that you may name here." for pk in missing]
            )
        return [found[pk] for pk in data]

    def to_representation(self, value: Any) -> list[int]:
        return [row.pk for row in value]


def text(max_length: int, *, required: bool = True, help_text: str = "") -> StrictCharField:
    """A string field that refuses other types; blank allowed for the optional ones."""
    return StrictCharField(max_length=max_length, required=required, allow_blank=not required, help_text=help_text)


def whole_number(*, required: bool = False, allow_null: bool = False, help_text: str = "") -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=0, max_value=MAX_POSITIVE_INTEGER, required=required, allow_null=allow_null, help_text=help_text
    )


class CourseWriteSerializer(StrictSerializer):
    """A course as administrators create (POST) or change (PATCH: only the fields sent) it."""

    title = text(200)
    code = text(64, help_text="Unique within the organisation.")
    subject = text(100, required=False)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True, help_text="On or after start_date.")
    time_zone = StrictCharField(
        max_length=64,
        required=False,
        validators=[validate_time_zone],
        help_text="An IANA time zone name, in which the class's days are counted. Default: the organisation's.",
    )
    external_source = text(32, required=False, help_text="Where the course comes from (an LMS), e.g. `moodle`.")
    external_id = text(128, required=False, help_text="Its id there; unique per organisation and source.")


class ModuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Module
        fields = ["id", "course", "title", "position", "external_source", "external_id"]
        read_only_fields = fields


class ModuleWriteSerializer(StrictSerializer):
    title = text(200)
    position = whole_number(help_text="Unique within the course. Default on creation: after the last module.")
    external_source = text(32, required=False)
    external_id = text(128, required=False)


MAX_WEEK = 32_767  # PostgreSQL smallint


def prerequisites_scope(context: dict[str, Any]) -> QuerySet[LearningItem]:
    """Items a writer may name as prerequisites: those they may see, of the course's organisation."""
    course = context["course"]
    return selectors.visible_items(context["request"].user).filter(
        module__course__organization_id=course.organization_id
    )


class LearningItemWriteSerializer(StrictSerializer):
    """A learning item of the course in the path: its module must be one of that course's."""

    module = ScopedIdField(
        noun="module",
        scope=lambda context: Module.objects.filter(course=context.get("course")),
        help_text="A module of this course.",
    )
    kind = ChoiceField(choices=LearningItem.Kind.choices)
    title = text(200)
    position = whole_number(help_text="Order within the module. Default 0.")
    max_points = serializers.DecimalField(
        max_digits=7,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        help_text="The most a submission may score; empty for items that are not graded.",
    )
    due_at = serializers.DateTimeField(required=False, allow_null=True)
    estimated_minutes = whole_number(allow_null=True)
    external_source = text(32, required=False)
    external_id = text(128, required=False, help_text="Unique per module and source.")
    difficulty = ChoiceField(
        choices=Difficulty.choices,
        required=False,
        allow_blank=True,
        help_text="beginner, intermediate or advanced: a person's, never overwritten by the one derived from data; "
        "empty hands the item back to derivation.",
    )
    tags = LabelListField(
        noun="tag", most=ITEM_TAGS_MAX, longest=64, required=False, help_text="Skills and topics, at most 20."
    )
    prerequisites = ScopedIdListField(
        noun="item",
        most=ITEM_PREREQUISITES_MAX,
        scope=prerequisites_scope,
        required=False,
        help_text="Ids of items that should come first: items you may see of this course's school, not this item, "
        "none that needs this item first. Replaces the current ones.",
    )
    prerequisite_skills = LabelListField(
        noun="skill", most=ITEM_TAGS_MAX, longest=64, required=False, help_text="Skills a learner should have first."
    )
    expected_outcomes = LabelListField(
        noun="outcome",
        most=ITEM_OUTCOMES_MAX,
        longest=300,
        required=False,
        help_text="What a learner can do afterwards, at most 10.",
    )
    activity_type = text(32, required=False, help_text="The source system's own type of the item.")
    week_from = serializers.IntegerField(
        min_value=0, max_value=MAX_WEEK, required=False, allow_null=True, help_text=WEEKS_HELP
    )
    week_to = serializers.IntegerField(
        min_value=0, max_value=MAX_WEEK, required=False, allow_null=True, help_text="On or after week_from."
    )


EXTERNAL_SOURCE_HELP = "The system (an LMS) whose id this is, e.g. `moodle`; with external_id, or neither."
EXTERNAL_ID_HELP = "The person's id in that system (integrations may name them by it); unique per school and source."


class UserCreateSerializer(StrictSerializer):
    """A person of the requester's organisation. Without a password the account cannot sign in with one (it may be
    given later, or the person signs in through the organisation's LMS); a password must pass the password rules."""

    username = StrictCharField(max_length=150, validators=[UnicodeUsernameValidator()])
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    first_name = text(150, required=False)
    last_name = text(150, required=False)
    role = ChoiceField(choices=Role.choices)
    password = StrictCharField(
        max_length=128, required=False, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    external_source = text(32, required=False, help_text=EXTERNAL_SOURCE_HELP)
    external_id = text(128, required=False, help_text=EXTERNAL_ID_HELP)

    def validate_email(self, email: str) -> str:
        if user_email_taken(email=email):
            raise serializers.ValidationError("Another account uses this email address.")
        return email

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        external_pair_checked(attrs)
        password = attrs.get("password")
        if password:
            candidate = User(**{name: value for name, value in attrs.items() if name != "password"})
            password_checked(password, candidate)
        return attrs


class UserUpdateSerializer(StrictSerializer):
    """What an administrator may change about a person of their organisation (role and organisation stay)."""

    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    first_name = text(150, required=False)
    last_name = text(150, required=False)
    is_active = serializers.BooleanField(required=False, help_text="False: the account can no longer sign in.")
    password = StrictCharField(
        max_length=128, required=False, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )
    external_source = text(32, required=False, help_text=EXTERNAL_SOURCE_HELP)
    external_id = text(128, required=False, help_text=EXTERNAL_ID_HELP)

    def validate_is_active(self, is_active: bool) -> bool:
        if not is_active and self.instance is not None and self.instance.pk == self.context["request"].user.pk:
            raise serializers.ValidationError("You cannot deactivate your own account.")
        return is_active

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        external_pair_checked(attrs, self.instance)
        password = attrs.get("password")
        if password and self.instance is not None:
            password_checked(password, self.instance)
        return attrs


def external_pair_checked(attrs: dict[str, Any], user: User | None = None) -> None:
    """external_source and external_id as they will be (a change of one keeps the other), both or neither."""
    pair = {
        name: attrs.get(name, getattr(user, name) if user is not None else "")
        for name in ("external_source", "external_id")
    }
    message = external_pair_error(**pair)
    if message is not None:
        raise serializers.ValidationError({"external_id": [message]})


def password_checked(password: str, user: User) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), as the admin's password forms apply them."""
    try:
        validate_password(password, user=user)
    except DjangoValidationError as error:
        raise serializers.ValidationError({"password": list(error.messages)}) from None


class EnrollmentCreateSerializer(StrictSerializer):
    """Enrol a person of the course's organisation. Enrolling someone already enrolled in that role answers their
    existing enrolment (200) instead of a second one."""

    user = ScopedIdField(
        noun="user",
        scope=lambda context: User.objects.filter(organization_id=context["course"].organization_id),
        help_text="A person of the course's organisation.",
    )
    role = ChoiceField(
        choices=Enrollment.Role.choices,
        required=False,
        help_text="Default: student for students, teacher for teachers and administrators.",
    )
    enrolled_at = serializers.DateTimeField(required=False, help_text="Default: now.")


class EnrollmentEndSerializer(StrictSerializer):
    """End an enrolment (the row stays, with its status and end time: the class's history keeps the student), record
    its final result (what the at-risk model learns from; blank clears it), or both."""

    status = ChoiceField(choices=[Enrollment.Status.DROPPED, Enrollment.Status.COMPLETED], required=False)
    ended_at = serializers.DateTimeField(required=False, help_text="Default: now. Not before enrolled_at.")
    final_result = ChoiceField(choices=Enrollment.FinalResult.choices, required=False, allow_blank=True)
    result_at = serializers.DateTimeField(required=False, help_text="When the result was reached. Default: now.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "result_at" in attrs and not attrs.get("final_result"):
            raise serializers.ValidationError({"result_at": ["Only with a final_result."]})
        if "status" not in attrs and "final_result" not in attrs:
            raise serializers.ValidationError({"status": ["Give status, final_result or both."]})
        return attrs
