"""An import-linter contract type for what its built-in ones cannot see: names private to an app.

Configured in pyproject.toml (`[tool.importlinter]`, `contract_types`) and run by `lint-imports` (./dev lint).

import-linter's graph (grimp) knows which module imports which, not which names are taken from it, so this contract
reads the source of every module of the root packages with `ast`. An app's private surface, which no other app may
use, is:

- a name beginning with one underscore (`_zone`, `_int`; dunders such as `__version__` are public), whether
  imported (`from analytics.api.metrics import _zone`) or reached as a module attribute (`metrics._zone(...)`,
  `analytics.services._sql`);
- a module beginning with one underscore (`analytics._sql`) or named in `internal_modules` (`admin`: an app's
  admin classes are its own), except in the `shared_apps` (core: a base shared by several apps' admins lives in
  `core/admin.py`, made to be used by all; its private names are still its own).

Within an app anything goes: the rule is about apps, not modules.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, cast

import grimp
from importlinter import Contract, ContractCheck, fields, output


class Violation(TypedDict):
    importer: str
    line_number: int
    target: str
    reason: str


@dataclass(frozen=True)
class Reach:
    """A dotted name one module of an app reaches into another app (`analytics.api.metrics._zone`)."""

    line_number: int
    dotted: str


def is_private_name(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


class PrivateNamesAcrossAppsContract(Contract):
    """No app imports, or reaches as an attribute, another app's private names or internal modules.

    Options:
        - apps: the top-level packages that are apps (default: every root package).
        - internal_modules: module names (last component) that are private to their app, e.g. `admin`.
        - shared_apps: apps whose internal_modules any app may use (core); their private names stay private.
    """

    type_name = "private_names"

    apps = fields.ListField(subfield=fields.StringField(), required=False)
    internal_modules = fields.ListField(subfield=fields.StringField(), required=False)
    shared_apps = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        modules = set(graph.modules)
        apps = set(cast(list[str], self.apps) or {module for module in modules if "." not in module})
        internal = set(cast(list[str], self.internal_modules) or ())
        shared = set(cast(list[str], self.shared_apps) or ())
        violations: dict[tuple[str, int, str], Violation] = {}
        for app in sorted(apps):
            root = app_directory(app)
            for module in sorted(module for module in modules if module == app or module.startswith(f"{app}.")):
                path = module_path(root, module)
                if path is None:
                    continue
                for reach in reaches(module, path, is_package=path.name == "__init__.py", modules=modules):
                    other_app = reach.dotted.split(".")[0]
                    if other_app == app or other_app not in apps:
                        continue
                    reason = private_part(
                        reach.dotted, modules=modules, internal=set() if other_app in shared else internal
                    )
                    # `from analytics.admin import ReadOnlyAdmin` reaches two names through one private part: once.
                    key = (module, reach.line_number, reason or "")
                    if reason is not None and key not in violations:
                        violations[key] = Violation(
                            importer=module, line_number=reach.line_number, target=reach.dotted, reason=reason
                        )
        return ContractCheck(
            kept=not violations, metadata={"violations": [violations[key] for key in sorted(violations)]}
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        output.print_error("Names private to an app used by another app:", bold=False)
        output.new_line()
        for violation in check.metadata["violations"]:
            output.print_error(
                f"- {violation['importer']} (l.{violation['line_number']}) uses {violation['target']}: "
                f"{violation['reason']}",
                bold=False,
            )
        output.new_line()


def app_directory(app: str) -> Path:
    # find_spec of a top-level name locates it without importing it (a submodule's would run its parents' code).
    spec = importlib.util.find_spec(app)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{app} is not a package on sys.path")
    return Path(next(iter(spec.submodule_search_locations)))


def module_path(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split(".")[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def private_part(dotted: str, *, modules: set[str], internal: set[str]) -> str | None:
    """Why `dotted` (an app, then modules, then perhaps a name in the last module) is private, or None."""
    parts = dotted.split(".")
    for index in range(1, len(parts)):
        prefix = ".".join(parts[: index + 1])
        is_module = prefix in modules
        if is_private_name(parts[index]):
            return f"{'module ' + prefix if is_module else 'name ' + parts[index]} is private to {parts[0]}"
        if is_module and parts[index] in internal:
            return f"module {prefix} is internal to {parts[0]}"
        if not is_module:
            # `Model._meta` and the like: attributes of an object are its class's business, not an app boundary.
            return None
    return None


def reaches(module: str, path: Path, *, is_package: bool, modules: set[str]) -> list[Reach]:
    """Every dotted name `module` imports, and every attribute chain it reads from a module it imported."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Reach] = []
    # Local name -> the module it is bound to, for attribute chains (`metrics._zone`, `analytics.services._sql`).
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Reach(node.lineno, alias.name))
                if alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    bound[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = absolute_source(module, node, is_package=is_package)
            found.append(Reach(node.lineno, source))
            for alias in node.names:
                if alias.name == "*":
                    continue
                dotted = f"{source}.{alias.name}"
                found.append(Reach(node.lineno, dotted))
                if dotted in modules:
                    bound[alias.asname or alias.name] = dotted
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain: list[str] = []
            current: ast.expr = node
            while isinstance(current, ast.Attribute):
                chain.append(current.attr)
                current = current.value
            if isinstance(current, ast.Name) and current.id in bound:
                found.append(Reach(node.lineno, ".".join([bound[current.id], *reversed(chain)])))
    return found


def absolute_source(module: str, node: ast.ImportFrom, *, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)
