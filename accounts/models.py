import secrets
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower

from accounts.validators import validate_time_zone
from core.models import TimeStampedModel


class Organization(TimeStampedModel):
    """A school or LMS tenant. Everything a user may see lives inside their organisation."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    email_domains = ArrayField(
        models.CharField(max_length=253),
        default=list,
        blank=True,
        help_text="The organisation's email domains (e.g. school.example): a synced Google Classroom roster matches "
        "people by their verified email only within these.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def new_public_handle() -> str:
    """A pseudonym for leaderboards: random, so it reveals nothing about the person, and stored, so it is stable.

    Not derived from the user id: a hash of an id can be reversed by hashing every id.
    """
    # 48 random bits: with a million accounts the chance that any two ever drew the same handle is under 0.2 %.
    return f"learner-{secrets.token_hex(6)}"


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    TEACHER = "teacher", "Teacher"
    STUDENT = "student", "Student"


class EduPathUserManager(UserManager["User"]):
    def create_superuser(
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> "User":
        # Platform operators are administrators; they may stand outside any organisation.
        extra.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra)


class User(AbstractUser):
    """A person. `role` is their role in their organisation; who may see whom is decided by classroom.selectors."""

    Role = Role

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    public_handle = models.CharField(max_length=32, unique=True, default=new_public_handle, editable=False)
    # Who this person is in a system that syncs them (an LMS: "moodle", "canvas"): an integration may name them by it.
    external_source = models.CharField(max_length=32, blank=True, default="")
    external_id = models.CharField(max_length=128, blank=True, default="")

    objects: ClassVar[EduPathUserManager] = EduPathUserManager()

    class Meta:
        ordering = ["username"]
        constraints = [
            # Email identifies a person for login recovery and invitations: one account per address, any case.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="accounts_user_email_unique_ci"
            ),
            # Teachers and students always belong to an organisation; only platform operators may stand outside.
            models.CheckConstraint(
                condition=models.Q(organization__isnull=False) | models.Q(role=Role.ADMIN),
                name="accounts_user_member_has_organization",
            ),
            # One person per external id of a source within an organisation. The id comes before the source so
            # that the same index finds an id named without its source (the tracking API allows that).
            models.UniqueConstraint(
                fields=["organization", "external_id", "external_source"],
                condition=~models.Q(external_id=""),
                name="accounts_user_external_id_unique",
            ),
        ]
        indexes = [models.Index(fields=["organization", "role"], name="accounts_user_org_role_idx")]

    def __str__(self) -> str:
        return self.username

    @property
    def display_name(self) -> str:
        """How pages and answers name the person: their full name, else their username."""
        return self.get_full_name() or self.username

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_teacher_role(self) -> bool:
        return self.role == Role.TEACHER

    @property
    def is_student_role(self) -> bool:
        return self.role == Role.STUDENT


class ApiKey(TimeStampedModel):
    """A credential for a server-side LMS integration: it may post learning events for people of its organisation
    and nothing else. Only a SHA-256 of the secret is stored (the secret is 32 random bytes, so a slow hash adds
    nothing); the full key is shown once, when created."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, help_text="What uses this key, e.g. 'Moodle production'.")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
