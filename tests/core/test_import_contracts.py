"""The import contracts (pyproject.toml, `[tool.importlinter]`) hold on the real tree and catch what they forbid.

Each deliberate violation is written into a throw-away tree under tmp_path: empty packages named like our apps, the
contracts copied unchanged from pyproject.toml, and one or two small modules that break exactly one contract.
`lint-imports` runs there as in ./dev lint, and must fail naming that contract and keep the others. Nothing is
written into the project's own tree.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
# Only a guard against a hung process; a run takes well under a second.
LINT_TIMEOUT_SECONDS = 60
CONTRACT_SCRIPT = "scripts/import_contracts.py"


def importlinter_config() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["importlinter"]


CONFIG = importlinter_config()
CONTRACT_NAMES: dict[str, str] = {contract["id"]: contract["name"] for contract in CONFIG["contracts"]}


def toml_value(value: str | list[str]) -> str:
    # Strings and lists of strings are all the configuration holds; JSON writes both as valid TOML.
    return json.dumps(value)


def write_config(path: Path) -> None:
    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in CONFIG.items() if key != "contracts"]
    for contract in CONFIG["contracts"]:
        lines += ["", "[[tool.importlinter.contracts]]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in contract.items()]
    path.write_text("\n".join(lines) + "\n")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # COLUMNS: the report is wrapped at the terminal width (80 without one), which would split contract names.
    environment = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    environment.pop("PYTHONPATH", None)
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=LINT_TIMEOUT_SECONDS,
        check=False,
    )


def fake_project(tmp_path: Path, modules: dict[str, str]) -> Path:
    """A tree of empty packages named like our apps, the contracts, the contract type, and `modules` (path: code)."""
    for package in CONFIG["root_packages"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / CONTRACT_SCRIPT, tmp_path / CONTRACT_SCRIPT)
    write_config(tmp_path / "pyproject.toml")
    for relative_path, code in modules.items():
        path = tmp_path / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        for package in path.relative_to(tmp_path).parents:
            if package != Path(".") and not (tmp_path / package / "__init__.py").exists():
                (tmp_path / package / "__init__.py").write_text("")
        path.write_text(code)
    return tmp_path


def verdicts(output: str) -> dict[str, str]:
    """{contract id: "KEPT" or "BROKEN"} from lint-imports' summary lines."""
    found = {}
    for contract_id, name in CONTRACT_NAMES.items():
        for verdict in ("KEPT", "BROKEN"):
            if f"{name} {verdict}" in output:
                found[contract_id] = verdict
    return found


def test_the_project_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(CONTRACT_NAMES, "KEPT")


def test_the_contracts_cover_the_app_order_core_and_private_names() -> None:
    assert set(CONTRACT_NAMES) == {"app-order", "core-imports-no-app", "app-private-names"}


ALLOWED = {
    # Downwards, at module level and inside a function.
    "dashboards/views.py": "from analytics import selectors\nfrom gamification import levels\n",
    "live/hub.py": "def snapshot():\n    from classroom import selectors\n",
    "config/urls.py": "import dashboards.urls\nimport live.routing\n",
    # A private name used inside its own app; a shared admin base from core; a class's private attribute.
    "analytics/api/views.py": "from analytics.api.metrics import _zone\n",
    "analytics/api/metrics.py": "def _zone(): ...\n",
    "gamification/admin.py": "from core.admin import ReadOnlyAdmin\nfrom gamification import models\n",
    "gamification/services.py": "from analytics import models\n\nmodels.StudentDailyRollup._meta.db_table\n",
    "analytics/models.py": "class StudentDailyRollup: ...\n",
    "core/admin.py": "class ReadOnlyAdmin: ...\n",
}


def test_imports_the_contracts_allow_keep_them_all(tmp_path: Path) -> None:
    result = lint_imports(fake_project(tmp_path, ALLOWED))

    assert result.returncode == 0, result.stdout + result.stderr
    assert verdicts(result.stdout) == dict.fromkeys(CONTRACT_NAMES, "KEPT")


VIOLATIONS = {
    "an app imports one above it": ("app-order", {"accounts/services.py": "from classroom import models\n"}),
    "dashboards imports live": ("app-order", {"dashboards/views.py": "from live import selectors\n"}),
    "gamification imports reports": ("app-order", {"gamification/services.py": "import reports.exports\n"}),
    "an app imports config inside a function": (
        "app-order",
        {"analytics/tasks.py": "def run():\n    from config.celery import app\n", "config/celery.py": "app = None\n"},
    ),
    "core imports config (core/health.py did)": (
        "core-imports-no-app",
        {"core/health.py": "def check():\n    from config.celery import app\n", "config/celery.py": "app = None\n"},
    ),
    "core imports a domain app": ("core-imports-no-app", {"core/metrics.py": "from analytics import catalogue\n"}),
    "a private name imported from another app": (
        "app-private-names",
        {
            "dashboards/api.py": "from analytics.api.metrics import _int, _zone\n",
            "analytics/api/metrics.py": "def _int(): ...\ndef _zone(): ...\n",
        },
    ),
    "a private name reached as a module attribute": (
        "app-private-names",
        {
            "gamification/services.py": "from analytics import services\n\nservices._complete_list\n",
            "analytics/services.py": "_complete_list = ''\n",
        },
    ),
    "a private module of another app": (
        "app-private-names",
        {"live/selectors.py": "import analytics._sql as sql\n", "analytics/_sql.py": ""},
    ),
    "another app's admin (gamification/admin.py did)": (
        "app-private-names",
        {
            "gamification/admin.py": "from analytics.admin import ReadOnlyAdmin\n",
            "analytics/admin.py": "class ReadOnlyAdmin: ...\n",
        },
    ),
}


@pytest.mark.parametrize(("contract_id", "modules"), list(VIOLATIONS.values()), ids=list(VIOLATIONS))
def test_each_contract_catches_a_deliberate_violation(
    tmp_path: Path, contract_id: str, modules: dict[str, str]
) -> None:
    # given: a tree that keeps every contract but for the modules above
    project = fake_project(tmp_path, modules)

    # when
    result = lint_imports(project)

    # then: lint-imports fails on that contract alone, and its report names the offending module
    assert result.returncode != 0, result.stdout + result.stderr
    expected = dict.fromkeys(CONTRACT_NAMES, "KEPT") | {contract_id: "BROKEN"}
    assert verdicts(result.stdout) == expected, result.stdout + result.stderr
    offending_module = next(iter(modules)).removesuffix(".py").replace("/", ".")
    assert offending_module in result.stdout
