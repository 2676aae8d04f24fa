import django_filters
from django.db.models import Q

from accounts.models import Role, User
from classroom.models import Course, Enrollment, LearningItem
from core.filters import BooleanFilter, ChoiceFilter, DateFilter, DateTimeFilter, IdFilter


class UserFilter(django_filters.FilterSet):
    role = ChoiceFilter(choices=Role.choices)
    is_active = BooleanFilter()

    class Meta:
        model = User
        fields = ["role", "is_active"]


class CourseFilter(django_filters.FilterSet):
    subject = django_filters.CharFilter(lookup_expr="iexact")
    code = django_filters.CharFilter(lookup_expr="iexact")
    starts_after = DateFilter(field_name="start_date", lookup_expr="gte")
    starts_before = DateFilter(field_name="start_date", lookup_expr="lte")
    active_on = DateFilter(method="filter_active_on", label="Running on this date")

    class Meta:
        model = Course
        fields = ["subject", "code"]

    def filter_active_on(self, queryset, name, value):
        started = Q(start_date__isnull=True) | Q(start_date__lte=value)
        not_ended = Q(end_date__isnull=True) | Q(end_date__gte=value)
        return queryset.filter(started & not_ended)


class EnrollmentFilter(django_filters.FilterSet):
    role = ChoiceFilter(choices=Enrollment.Role.choices)
    status = ChoiceFilter(choices=Enrollment.Status.choices)
    enrolled_after = DateTimeFilter(field_name="enrolled_at", lookup_expr="gte")
    enrolled_before = DateTimeFilter(field_name="enrolled_at", lookup_expr="lte")

    class Meta:
        model = Enrollment
        fields = ["role", "status"]


class LearningItemFilter(django_filters.FilterSet):
    kind = ChoiceFilter(choices=LearningItem.Kind.choices)
    module = IdFilter(field_name="module_id")
    due_after = DateTimeFilter(field_name="due_at", lookup_expr="gte")
    due_before = DateTimeFilter(field_name="due_at", lookup_expr="lte")
    graded = BooleanFilter(field_name="max_points", lookup_expr="isnull", exclude=True)

    class Meta:
        model = LearningItem
        fields = ["kind", "module"]
