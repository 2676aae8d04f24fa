"""Production settings pass Django's deployment checklist with exactly the documented environment."""

import os
import secrets
import subprocess
import sys

from django.conf import settings

# The environment a production deployment sets (README, "Configuration"). Everything else has a safe default.
PRODUCTION_ENV_VARS: dict[str, str] = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    # 64 random URL-safe characters, one per deployment:
    #   python -c "import secrets; print(secrets.token_urlsafe(48))"
    "DJANGO_SECRET_KEY": "<64 random characters>",
    # Comma-separated host names the site answers to.
    "DJANGO_ALLOWED_HOSTS": "analytics.example.org",
    "DATABASE_URL": "postgres://USER:PASSWORD@HOST:5432/edupath",
    "REDIS_URL": "redis://HOST:6379",
}

CHECK_TIMEOUT_SECONDS = 120


def production_environment(**overrides: str) -> dict[str, str]:
    """PRODUCTION_ENV_VARS with real values for this machine, and nothing inherited from the calling shell."""
    environment = {
        **PRODUCTION_ENV_VARS,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edupath"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379"),
    }
    environment.update(overrides)
    return environment


def manage(*arguments: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT_SECONDS,
        check=False,
    )


def test_production_settings_pass_the_deploy_checklist() -> None:
    # given
    environment = production_environment()
    assert len(environment["DJANGO_SECRET_KEY"]) == 64

    # when
    result = manage("check", "--deploy", "--fail-level", "WARNING", environment=environment)

    # then
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_production_refuses_to_start_without_a_secret_key() -> None:
    environment = production_environment()
    del environment["DJANGO_SECRET_KEY"]

    result = manage("check", "--deploy", environment=environment)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
