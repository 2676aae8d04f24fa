"""Who may see whom: the one place in EduPath Analytics that decides it.

Every view, API endpoint, consumer and report scopes its data through these functions. The rules:

- a platform operator (superuser) sees everything;
- an administrator sees their whole organisation;
- a teacher sees the courses they actively teach, and the students enrolled there (dropped and completed students
  included: their history belongs to the class record);
- a student sees themselves and the courses they attend or completed (only public aggregates of classmates, which
  the analytics selectors compute; never classmates themselves);
- anyone inactive or anonymous sees nothing.

Forbidden and nonexistent must look alike, so callers filter through these querysets and answer 404 on a miss.
"""

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework.exceptions import ValidationError

from accounts.models import Role, User
from accounts.permissions import is_platform_operator, is_student, small_group_minimum
from accounts.selectors import organization_zone
from classroom.hooks import student_figures
from classroom.models import Course, Enrollment, LearningItem, Module, active_student_filter
from core.metrics import Scope, Subject

Actor = User | AnonymousUser

# Enrolments that give a student sight of a course: a dropped student no longer sees the class.
STUDENT_VISIBLE_STATUSES = (Enrollment.Status.ACTIVE, Enrollment.Status.COMPLETED)


def active_member(user: Actor) -> User | None:
    """The user when they are a signed-in, active account; None for anonymous and deactivated users."""
    if isinstance(user, User) and user.is_active:
        return user
    return None


def taught_course_ids(user: User) -> "QuerySet[Enrollment, Any]":
    """Ids (as a subquery) of the courses `user` actively teaches."""
    return Enrollment.objects.filter(user=user, role=Enrollment.Role.TEACHER, status=Enrollment.Status.ACTIVE).values(
        "course_id"
    )


def visible_courses(user: Actor) -> QuerySet[Course]:
    member = active_member(user)
    if member is None:
        return Course.objects.none()
    if member.is_superuser:
        return Course.objects.all()
    if member.organization_id is None:
        return Course.objects.none()
    in_org = Course.objects.filter(organization_id=member.organization_id)
    if member.role == Role.ADMIN:
        return in_org
    if member.role == Role.TEACHER:
        return in_org.filter(id__in=taught_course_ids(member))
    attended = Enrollment.objects.filter(
        user=member, course=OuterRef("pk"), role=Enrollment.Role.STUDENT, status__in=STUDENT_VISIBLE_STATUSES
    )
    return in_org.filter(Exists(attended))


def courses_in_common(viewer: Actor, student: Actor) -> QuerySet[Course]:
    """The student's classes that the viewer may also see: all of them for the student themselves and the school's
    administrators, only their own for a teacher."""
    return visible_courses(student).filter(pk__in=visible_courses(viewer).values("pk"))


def sees_whole_student(viewer: Actor, student: User) -> bool:
    """Whether `viewer` may see all of `student`'s learning, in every class and outside any: the student themselves,
    their school's administrators and platform operators. A teacher sees only what happened in the classes they
    teach (courses_in_common), on every page and endpoint about the student."""
    member = active_member(viewer)
    if member is None:
        return False
    if member.pk == student.pk or member.is_superuser:
        return True
    return (
        member.role == Role.ADMIN
        and member.organization_id is not None
        and member.organization_id == student.organization_id
    )


def visible_students(user: Actor) -> QuerySet[User]:
    """Students whose individual data `user` may see."""
    member = active_member(user)
    if member is None:
        return User.objects.none()
    students = User.objects.filter(role=Role.STUDENT)
    if member.is_superuser:
        return students
    if member.organization_id is None:
        return User.objects.none()
    students = students.filter(organization_id=member.organization_id)
    if member.role == Role.ADMIN:
        return students
    if member.role == Role.TEACHER:
        taught = Enrollment.objects.filter(
            user=OuterRef("pk"), role=Enrollment.Role.STUDENT, course_id__in=taught_course_ids(member)
        )
        return students.filter(Exists(taught))
    return students.filter(pk=member.pk)


def visible_users(user: Actor) -> QuerySet[User]:
    """People whose profile `user` may open: administrators see their organisation, everyone else the students
    they may see and themselves."""
    member = active_member(user)
    if member is None:
        return User.objects.none()
    if member.is_superuser:
        return User.objects.all()
    if member.role == Role.ADMIN:
        if member.organization_id is None:
            return User.objects.filter(pk=member.pk)
        return User.objects.filter(organization_id=member.organization_id)
    return User.objects.filter(Q(pk=member.pk) | Q(pk__in=visible_students(member).values("pk")))


def visible_enrollments(user: Actor) -> QuerySet[Enrollment]:
    """Enrolment rows `user` may list: staff see every row of their courses; a student sees their own rows and who
    teaches their classes, never their classmates."""
    member = active_member(user)
    if member is None:
        return Enrollment.objects.none()
    in_courses = Enrollment.objects.filter(course__in=visible_courses(member))
    if member.is_superuser or member.role in (Role.ADMIN, Role.TEACHER):
        return in_courses
    return in_courses.filter(Q(user=member) | Q(role=Enrollment.Role.TEACHER, status=Enrollment.Status.ACTIVE))


def visible_items(user: Actor) -> QuerySet[LearningItem]:
    return LearningItem.objects.filter(module__course__in=visible_courses(user))


def visible_modules(user: Actor) -> QuerySet[Module]:
    return Module.objects.filter(course__in=visible_courses(user))


def editable_courses(user: Actor) -> QuerySet[Course]:
    """Courses whose content (modules, items) `user` may change: every course of an administrator's organisation,
    the courses a teacher actively teaches, none for students. Only within the user's own organisation, even for
    a platform operator (the write API acts for one school; Django admin is the operators' tool)."""
    member = active_member(user)
    if member is None or member.organization_id is None or member.role not in (Role.ADMIN, Role.TEACHER):
        return Course.objects.none()
    return visible_courses(member).filter(organization_id=member.organization_id)


def can_view_course(user: Actor, course_id: int) -> bool:
    return visible_courses(user).filter(pk=course_id).exists()


def can_view_student(user: Actor, student_id: int) -> bool:
    return visible_students(user).filter(pk=student_id).exists()


def course_list_for(user: Actor) -> QuerySet[Course]:
    """Visible courses with the counts the course list shows (one query, no per-row lookups)."""
    return visible_courses(user).annotate(
        students_count=Count("enrollments", filter=active_student_filter("enrollments__"), distinct=True),
        modules_count=Count("modules", distinct=True),
    )


def teacher_summary(*, teacher: User, viewer: Actor) -> dict[str, object]:
    """A teacher's classes and distinct student count, limited to what `viewer` may see."""
    classes = visible_courses(viewer).filter(id__in=taught_course_ids(teacher)).order_by("code")
    students = Enrollment.objects.active_students().filter(course__in=classes).values("user_id").distinct().count()
    class_rows = list(classes.values("id", "code", "title"))
    return {"total_classes": len(class_rows), "total_students": students, "classes": class_rows}


def student_summary(*, student: User, viewer: Actor) -> dict[str, object]:
    """A student's enrolments, limited to the courses `viewer` may see (a teacher sees only their own classes)."""
    rows = list(
        Enrollment.objects.filter(user=student, role=Enrollment.Role.STUDENT, course__in=visible_courses(viewer))
        .order_by("-enrolled_at")
        .values("id", "course_id", "course__code", "course__title", "status", "enrolled_at", "ended_at")
    )
    enrollments = [
        {
            "id": row["id"],
            "course": {"id": row["course_id"], "code": row["course__code"], "title": row["course__title"]},
            "status": row["status"],
            "enrolled_at": row["enrolled_at"],
            "ended_at": row["ended_at"],
        }
        for row in rows
    ]
    active = sum(1 for row in rows if row["status"] == Enrollment.Status.ACTIVE)
    # Figures other apps own (classroom.hooks: gamification's XP total), as their progress page and micro dashboard
    # show them to the same viewer: all of the student's learning, or a teacher's classes only (as metric_scope).
    counted = None if sees_whole_student(viewer, student) else courses_in_common(viewer, student).values("pk")
    figures = {figure.name: figure.compute(student, counted) for figure in student_figures()}
    return {"total_enrollments": len(rows), "active_enrollments": active, **figures, "enrollments": enrollments}


# --- metric scopes ----------------------------------------------------------------------------------------------


def course_zone(course: Course) -> ZoneInfo:
    """A class counts its days in its own time zone (its rollups' days, its dashboard)."""
    return ZoneInfo(course.time_zone)


def scoped_get_or_404(queryset: QuerySet[Any], pk: Any) -> Model:
    """Fetch one object from an already scoped queryset; a forbidden object and a missing one both raise 404."""
    return get_object_or_404(queryset, pk=pk)


def student_in_scope(user: Any, student_id: int | None) -> User:
    """The student a request is about: the requester (a student) by default; staff must name one they may see.
    Outside the requester's scope: 404, as if the student did not exist."""
    if student_id is None:
        if getattr(user, "role", None) != Role.STUDENT:
            raise ValidationError({"student": ["Required: the id of a student you may see."]})
        student_id = user.pk
    return cast(User, scoped_get_or_404(visible_students(user).select_related("organization"), student_id))


def student_courses(viewer: Any, student: User, course_id: int | None) -> QuerySet[Course]:
    """The student's classes that the requester may also see (a teacher: only their own), or the one named (404
    outside them)."""
    courses = courses_in_common(viewer, student)
    if course_id is not None:
        courses = courses.filter(pk=scoped_get_or_404(courses, course_id).pk)
    return courses


def metric_scope(
    *, viewer: User, subject: Subject, query: dict[str, Any], now: datetime, small_group_setting: str | None = None
) -> Scope:
    """What a metric may cover for `viewer`, from the validated query (`course`, `student` narrow it and must lie
    within the viewer's scope: 404 otherwise, as if they did not exist), and whose calendar its days follow: a class
    its own, a student their school's, anything else the viewer's school's. Querysets stay lazy: they reach the
    metric's own queries as subqueries."""
    common: dict[str, Any] = {
        "viewer": viewer,
        "subject": subject,
        "now": now,
        "viewer_is_student": is_student(viewer),
        "small_group_minimum": small_group_minimum(viewer, small_group_setting) if small_group_setting else 0,
    }
    course_id = query.get("course")
    if subject == Subject.COURSES:
        named = scoped_get_or_404(visible_courses(viewer), course_id).pk if course_id is not None else None

        def courses() -> QuerySet[Course]:
            visible = visible_courses(viewer)
            return visible if named is None else visible.filter(pk=named)

        return Scope(**common, zone=organization_zone(viewer.organization), courses_query=courses)
    if subject == Subject.COURSE:
        if course_id is None:
            raise ValidationError({"course": ["Required: the id of a class you may see."]})
        course = cast(Course, scoped_get_or_404(visible_courses(viewer).select_related("organization"), course_id))
        return Scope(**common, zone=course_zone(course), course=course, fixed_course_ids=(course.pk,))
    if subject == Subject.STUDENT:
        student = student_in_scope(viewer, query.get("student"))
        # a class named must be one of the student's the viewer may see (404 now); otherwise all of them, when asked
        named_course = student_courses(viewer, student, course_id) if course_id is not None else None
        return Scope(
            **common,
            zone=organization_zone(student.organization),
            student=student,
            courses_query=lambda: named_course if named_course is not None else courses_in_common(viewer, student),
            # every figure about the student (events, minutes, XP, heatmap, recent activity) counts the classes in
            # scope only, unless the viewer sees all of the student and no class was named
            whole_student=named_course is None and sees_whole_student(viewer, student),
        )
    if subject == Subject.RANKING:
        if course_id is not None:
            course = cast(Course, scoped_get_or_404(visible_courses(viewer).select_related("organization"), course_id))
            return Scope(
                **common, zone=organization_zone(course.organization), course=course, organization=course.organization
            )
        if viewer.organization is None:
            raise ValidationError({"course": ["Required for an account outside any organisation."]})
        return Scope(**common, zone=organization_zone(viewer.organization), organization=viewer.organization)
    # Subject.ORGANIZATION: platform operators see every organisation; anyone else their own (none without one).
    return Scope(
        **common,
        zone=organization_zone(viewer.organization),
        organization=viewer.organization,
        every_organization=is_platform_operator(viewer),
    )
