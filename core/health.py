"""Readiness checks behind /health: PostgreSQL, Redis, a Celery worker answering, and pending migrations.

Every check is bounded in time so that a dead dependency makes /health answer 503 quickly instead of hanging.
"""

from dataclasses import dataclass
from typing import Any

import redis
from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

CHECK_TIMEOUT_SECONDS = 1.5


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail}


def check_postgres() -> CheckResult:
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        pool = getattr(connection, "pool", None)
        if pool is not None:
            # Borrow from Django's pool with our own short wait: through a cursor, a dead server would keep the probe
            # waiting for the pool's timeout (10 s) before answering.
            pool.open()
            with pool.connection(timeout=CHECK_TIMEOUT_SECONDS) as pooled:
                pooled.execute("SELECT 1").fetchone()
        else:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
    except Exception as exc:
        return CheckResult(False, f"unreachable: {exc.__class__.__name__}")
    return CheckResult(True, "reachable")


def _redis_urls() -> dict[str, str]:
    return {
        "cache": settings.CACHES["default"]["LOCATION"],
        "broker": settings.CELERY_BROKER_URL,
        "channels": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"],
    }


def check_redis() -> CheckResult:
    failed = []
    for role, url in _redis_urls().items():
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
        )
        try:
            client.ping()
        except redis.RedisError as exc:
            failed.append(f"{role} unreachable ({exc.__class__.__name__})")
        finally:
            client.close()
    if failed:
        return CheckResult(False, "; ".join(failed))
    return CheckResult(True, "reachable")


def check_celery(*, broker_ok: bool) -> CheckResult:
    if not broker_ok:
        # Asking workers over a dead broker would only wait for the connection retries to give up.
        return CheckResult(False, "broker unreachable")
    try:
        # The project's app (config/celery.py), without core importing config: Django settings load config, which
        # creates it, and Celery's Django fix-up makes it the default app of every thread.
        replies = current_app.control.ping(timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return CheckResult(False, f"ping failed: {exc.__class__.__name__}")
    if not replies:
        return CheckResult(False, "no worker answered")
    return CheckResult(True, f"{len(replies)} worker(s) answered")


def check_migrations() -> CheckResult:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return CheckResult(False, f"cannot read migrations: {exc.__class__.__name__}")
    if plan:
        return CheckResult(False, f"{len(plan)} pending")
    return CheckResult(True, "none pending")


def health_report() -> tuple[bool, dict[str, dict[str, Any]]]:
    """Return (all ok, {check name: {ok, detail}})."""
    postgres = check_postgres()
    redis_result = check_redis()
    results = {
        "postgres": postgres,
        "redis": redis_result,
        "celery": check_celery(broker_ok=redis_result.ok),
        "migrations": check_migrations() if postgres.ok else CheckResult(False, "database unreachable"),
    }
    return all(r.ok for r in results.values()), {name: r.as_dict() for name, r in results.items()}
