"""A Python client generated from our OpenAPI schema by a standard generator (openapi-python-client) type-checks
under mypy --strict and works against a running server.

Why: the schema is the contract outside programs are built from. drf-spectacular and openapi-spec-validator check
that the document is valid OpenAPI, not that a generator can turn it into correct, typed code: a request body
offered in several content types, a component whose name clashes with one of its properties, an answer typed
looser than it is sent, or a model the server's answers do not parse into only show up once a client is generated,
type-checked and called. The generated code and a small program using it are checked the way an outside developer
would check theirs, and that same program is then run against a live server, asserting on parsed model values.
"""

import importlib
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from string import Template
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.conftest import School

REPOSITORY = Path(__file__).resolve().parents[2]
# The committed contract (tests/core/test_openapi_contract.py keeps it equal to the served schema).
SCHEMA_FILE = REPOSITORY / "docs" / "openapi.yaml"
PACKAGE = "edupath_api_client"
BIN = Path(sys.executable).parent  # the project's .venv/bin: the generator and mypy pinned there
PASSWORD = "pass-word-123"  # tests.factories.UserFactory

# Ruff is the generator's default formatter; formatting does not change what the code means or whether it
# type-checks, and skipping it keeps generation independent of any tool on PATH.
GENERATOR_CONFIG = "post_hooks: []\n"
# An empty config, so that no mypy.ini or pyproject.toml found above the temporary directory changes the check.
MYPY_CONFIG = "[mypy]\n"

# How an outside program would use the client: written next to the generated package, type-checked with it, and run
# by test_generated_client_talks_to_a_live_server. The generator puts each operation in a module named after its
# operationId, in a folder named after its tag; the folders are looked up (`$name` is the folder of operation `name`),
# so regrouping operations under other tags does not break the program, renaming an operation does. Narrowing with
# isinstance: `sync()` answers a union of the models of every documented answer.
USAGE = Template(
    '''\
"""Log in, then read who I am, my classes and the headline figures of one class, through the generated client."""

from $package import AuthenticatedClient, Client
from $package.models import (
    Course,
    CoursesListOrdering,
    Me,
    PaginatedCourseList,
    SchoolOverview,
    TokenObtainRequest,
    TokenPairResponse,
)
from $analytics_overview_retrieve import analytics_overview_retrieve
from $auth_token_create import auth_token_create
from $courses_list import courses_list
from $me_retrieve import me_retrieve


def log_in(base_url: str, username: str, password: str) -> AuthenticatedClient:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    tokens = auth_token_create.sync(client=anonymous, body=TokenObtainRequest(username=username, password=password))
    if not isinstance(tokens, TokenPairResponse):
        raise RuntimeError(f"no token pair: {tokens!r}")
    return AuthenticatedClient(base_url=base_url, token=tokens.access, raise_on_unexpected_status=True)


def who_am_i(client: AuthenticatedClient) -> Me:
    me = me_retrieve.sync(client=client)
    if not isinstance(me, Me):
        raise RuntimeError(f"no user: {me!r}")
    return me


def my_courses(client: AuthenticatedClient) -> list[Course]:
    page = courses_list.sync(client=client, ordering=CoursesListOrdering.CODE, limit=50)
    if not isinstance(page, PaginatedCourseList):
        raise RuntimeError(f"no page of courses: {page!r}")
    return page.results


def class_overview(client: AuthenticatedClient, course: Course, days: int) -> SchoolOverview:
    overview = analytics_overview_retrieve.sync(client=client, course=course.id, period=f"{days}d")
    if not isinstance(overview, SchoolOverview):
        raise RuntimeError(f"no overview: {overview!r}")
    return overview


def describe(me: Me, courses: list[Course], overview: SchoolOverview) -> str:
    """Uses the models the way a dashboard would, so that a wrong field type fails the type check."""
    codes = ", ".join(sorted(course.code for course in courses))
    progress = "n/a" if overview.average_progress_percent is None else f"{overview.average_progress_percent:.1f} %"
    period = (overview.last_day - overview.first_day).days + 1
    return (
        f"{me.username} ({me.role.value}, {me.organization.name}) teaches {codes}: "
        f"{overview.students_active}/{overview.students_total} active over {period} days, progress {progress}, "
        f"as of {overview.as_of.isoformat()}"
    )
'''
)


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding the generated package and the usage program (generated once per module)."""
    root = tmp_path_factory.mktemp("generated_client")
    config = root / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    # --path reads the local file only; nothing is fetched. --fail-on-warning: any part of the schema the generator
    # skips (it prints which and why) is a defect of the contract.
    result = run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(SCHEMA_FILE),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--fail-on-warning",
        ],
        cwd=root,
    )
    assert result.returncode == 0, f"generator failed:\n{result.stdout}\n{result.stderr}"
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    # api/<tag>/<operationId>.py
    folders = {module.stem: module.parent for module in (root / PACKAGE / "api").glob("*/*.py")}
    packages = {stem: ".".join(folder.relative_to(root).parts) for stem, folder in folders.items()}
    (root / "edupath_client_usage.py").write_text(USAGE.substitute(packages, package=PACKAGE))
    return root


def test_generated_client_type_checks(generated: Path) -> None:
    # given
    (generated / "mypy.ini").write_text(MYPY_CONFIG)

    # when
    result = run(
        [
            str(BIN / "mypy"),
            "--config-file",
            "mypy.ini",
            "--strict",
            "--cache-dir",
            str(generated / ".mypy_cache"),
            "--package",
            PACKAGE,
            "--module",
            "edupath_client_usage",
        ],
        cwd=generated,
    )

    # then
    assert result.returncode == 0, f"mypy --strict on the generated client:\n{result.stdout}{result.stderr}"


@pytest.mark.django_db(transaction=True)  # the live server's thread sees committed rows only
def test_generated_client_talks_to_a_live_server(
    generated: Path, school: School, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    monkeypatch.syspath_prepend(str(generated))
    usage: Any = importlib.import_module("edupath_client_usage")

    # when
    client = usage.log_in(live_server.url, school.teacher.username, PASSWORD)
    me = usage.who_am_i(client)
    courses = usage.my_courses(client)
    overview = usage.class_overview(client, courses[0], 7)

    # then: the answers were parsed into models, nested models and typed values included
    assert (me.username, me.role.value, me.organization.name) == ("teacher", "teacher", "Northfield")
    assert [course.code for course in courses] == ["MATH-1"]
    assert courses[0].id == school.course.pk
    assert (overview.students_total, overview.classes_total, overview.events) == (2, 1, 0)
    assert isinstance(overview.as_of, datetime)
    assert type(overview.first_day) is date
    assert (overview.last_day - overview.first_day).days == 6
    assert usage.describe(me, courses, overview).startswith("teacher (teacher, Northfield) teaches MATH-1: 0/2 active")
