"""/health against the real services: PostgreSQL, Redis, a Celery worker answering pings, and the migration state.

The failure cases point one dependency at a closed port or simply run no worker; every check is bounded in time
(core.health.CHECK_TIMEOUT_SECONDS), so the 503 answers come back without hanging.
"""

import copy
import json
import os
import subprocess
import sys
from typing import Any

from django.conf import settings as django_settings
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from pytest_django.fixtures import SettingsWrapper

from accounts.models import Role
from tests.core.conftest import RunningWorker
from tests.factories import AdminFactory, StudentFactory, TeacherFactory

# Nothing listens on port 1: connections are refused at once, as when Redis is down.
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
UNREACHABLE_DATABASE_URL = "postgres://postgres@127.0.0.1:1/edupath"
# Only a guard against a hung process; the answer itself takes a few seconds at most.
SUBPROCESS_TIMEOUT_SECONDS = 120
# The database connection is set up once per process, so a dead PostgreSQL is simulated in a fresh one.
GET_HEALTH_SCRIPT = """
import json, django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from django.test import Client
response = Client().get("/health")
print(json.dumps({"status_code": response.status_code, "body": response.json()}))
"""
CHECK_NAMES = {"postgres", "redis", "celery", "migrations"}
ROLES: list[Role | None] = [None, Role.STUDENT, Role.TEACHER, Role.ADMIN]


def client_as(role: Role | None) -> Client:
    """A browser-like client: anonymous, or logged in with a session as a user of `role`."""
    client = Client()
    factories = {Role.STUDENT: StudentFactory, Role.TEACHER: TeacherFactory, Role.ADMIN: AdminFactory}
    if role is not None:
        client.force_login(factories[role].create())
    return client


def answers_by_role() -> dict[Role | None, tuple[int, dict[str, Any]]]:
    clients = {role: client_as(role) for role in ROLES}
    answers = {}
    for role, client in clients.items():
        response = client.get("/health")
        answers[role] = (response.status_code, response.json())
    return answers


def point_redis_at_closed_port(settings: SettingsWrapper) -> None:
    # Copies, so that restoring the settings afterwards restores the original dictionaries untouched.
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["LOCATION"] = UNREACHABLE_REDIS_URL
    channel_layers = copy.deepcopy(settings.CHANNEL_LAYERS)
    channel_layers["default"]["CONFIG"]["hosts"][0]["address"] = UNREACHABLE_REDIS_URL
    settings.CACHES = caches
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS_URL
    settings.CHANNEL_LAYERS = channel_layers


def test_health_is_ok_when_every_dependency_answers(celery_worker: RunningWorker) -> None:
    response = Client().get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == CHECK_NAMES
    assert all(check["ok"] for check in body["checks"].values()), body["checks"]
    assert body["checks"]["celery"]["detail"].endswith("worker(s) answered")
    assert body["checks"]["migrations"]["detail"] == "none pending"
    # A probe's answer must never be served from a cache.
    assert "no-store" in response["Cache-Control"]


def test_health_gives_every_role_the_same_ok_answer(celery_worker: RunningWorker) -> None:
    answers = answers_by_role()

    assert answers[None][0] == 200
    assert all(answer == answers[None] for answer in answers.values()), answers


def test_health_names_redis_when_redis_is_unreachable(db: None, settings: SettingsWrapper) -> None:
    # given
    point_redis_at_closed_port(settings)

    # when
    response = Client().get("/health")

    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    # Celery fails with it: workers cannot be asked over a dead broker, and the check does not try.
    assert body["failing"] == ["celery", "redis"]
    assert body["checks"]["celery"]["detail"] == "broker unreachable"
    redis_detail = body["checks"]["redis"]["detail"]
    assert all(f"{role} unreachable" in redis_detail for role in ("cache", "broker", "channels")), redis_detail
    assert body["checks"]["postgres"]["ok"]
    assert body["checks"]["migrations"]["ok"]


def test_health_gives_every_role_the_same_answer_when_redis_is_unreachable(db: None, settings: SettingsWrapper) -> None:
    # given
    point_redis_at_closed_port(settings)

    # when
    answers = answers_by_role()

    # then
    assert answers[None][0] == 503
    assert "redis" in answers[None][1]["failing"]
    assert all(answer == answers[None] for answer in answers.values()), answers


def test_health_names_celery_when_no_worker_answers(db: None) -> None:
    # No worker runs in this test: Redis is up, but nobody answers the ping.
    response = Client().get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["celery"]
    assert body["checks"]["celery"] == {"ok": False, "detail": "no worker answered"}


def test_health_names_migrations_when_one_is_pending(db: None) -> None:
    # given: the database forgets that it applied the sessions app's only migration (rolled back after the test)
    MigrationRecorder.Migration.objects.filter(app="sessions").delete()

    # when
    response = Client().get("/health")

    # then
    assert response.status_code == 503
    body = response.json()
    assert "migrations" in body["failing"]
    assert body["checks"]["migrations"] == {"ok": False, "detail": "1 pending"}


def test_health_names_postgres_when_the_database_is_unreachable() -> None:
    # given
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": UNREACHABLE_DATABASE_URL,
    }

    # when
    result = subprocess.run(
        [sys.executable, "-c", GET_HEALTH_SCRIPT],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )

    # then
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["status_code"] == 503
    assert "postgres" in answer["body"]["failing"]
    assert answer["body"]["checks"]["postgres"]["ok"] is False
    assert answer["body"]["checks"]["migrations"] == {"ok": False, "detail": "database unreachable"}
