from django.core.management import call_command

from accounts.models import User
from classroom.models import Course, Enrollment, LearningPath, Submission


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "courses": Course.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "submissions": Submission.objects.count(),
        "paths": LearningPath.objects.count(),
    }


def test_seed_demo_creates_a_usable_school_and_is_idempotent(db: None) -> None:
    call_command("seed_demo", "--quiet")
    first = counts()
    call_command("seed_demo", "--quiet")
    assert counts() == first
    assert first["users"] == 27
    assert first["courses"] == 3
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.role == "admin"
    assert User.objects.get(username="teacher1").check_password("edupath-demo")
    # every class has a teacher, students, one dropout and real submissions for past deadlines
    for course in Course.objects.all():
        assert course.enrollments.filter(role="teacher", status="active").count() == 1
        assert course.enrollments.filter(status="dropped").count() == 1
        assert Submission.objects.filter(item__module__course=course).exists()
