"""The metric catalogue: every figure EduPath serves is a registered Metric, and the API, the pages, the live stream
and the reports all ask the catalogue (docs/decisions/0009-metric-catalogue.md).

This module is the protocol only and imports no domain app. Each app registers the metrics it owns when it is ready
(AppConfig.ready, as analytics.hooks are registered), so imports keep pointing one way: a metric that combines
analytics and gamification figures belongs to gamification or above. classroom.selectors resolves a request into a
Scope (who asks, what they may see: the one permission point); analytics.api.catalogue serves every metric under
/api/v1/ from one place.

A metric has:
- a name (its URL name) and a path under /api/v1/ (which may hold `<int:course>` or `<int:student>`);
- a typed input: a QuerySerializer (core.params) and the Scope; a DateRange (core.daterange) is built by the
  compute function from the scope's zone and `now` and the query;
- a typed output: a TypedDict, which yields the OpenAPI schema and the tabular columns (core.typed_schema) of the
  rows named by `rows` (or of the answer itself);
- an audience, the settings name of its small-group threshold, a cache policy, and optionally a fast SQL
  implementation that a parity test holds equal to `compute` (tests/test_metric_parity.py).
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, get_args, get_type_hints
from zoneinfo import ZoneInfo

from core.typed_schema import Column, columns


class Audience(StrEnum):
    """Who may ask (403 for anyone else; within the audience, the scope decides which rows exist)."""

    EVERYONE = "everyone"  # students about themselves, staff about the students they may see
    STAFF = "staff"  # teachers (their classes) and administrators (their school)
    ADMINISTRATORS = "administrators"  # school administrators and platform operators


class Subject(StrEnum):
    """What an answer is about, which decides how the scope is resolved and whose calendar its days are."""

    COURSES = "courses"  # the viewer's classes (a teacher's, a school's), or the one named by `course`
    COURSE = "course"  # one class, named in the path or by a required `course` (the class's calendar)
    STUDENT = "student"  # one student: the requester (students) or one named (the student's school calendar)
    ORGANIZATION = "organization"  # the viewer's school; every school for platform operators
    RANKING = "ranking"  # a class named by `course`, or else the viewer's school (leaderboards)


class Cache(StrEnum):
    PER_VIEWER = "per-viewer"  # analytics.cache: by question, viewer and data version
    NONE = "none"  # always computed (live figures of the last minutes)


@dataclass(frozen=True)
class Scope:
    """Who asks and what the answer may cover, resolved once (classroom.selectors.metric_scope) before any figure
    is computed. The permission checks (404s) are done when it is made; the classes in scope are a queryset built
    on first use (`courses`, `course_ids`), which reaches the metric's queries as a subquery: an answer served from
    the cache never builds it."""

    viewer: Any
    subject: Subject
    now: datetime
    zone: ZoneInfo
    course: Any = None  # COURSE: the class; RANKING: the class named, if any
    student: Any = None  # STUDENT: the student
    organization: Any = None  # ORGANIZATION / RANKING: the viewer's (or the ranked class's) school
    every_organization: bool = False  # ORGANIZATION: a platform operator's figures cover every school
    viewer_is_student: bool = False
    small_group_minimum: int = 0  # the least group whose aggregates the viewer may see (0: any, for staff)
    # COURSES: the classes in scope; STUDENT: the student's that the viewer may also see (a queryset, when asked for)
    courses_query: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    fixed_course_ids: tuple[int, ...] | None = None  # COURSE: the one class's id
    # STUDENT: the viewer may see all of the student's learning (the student, their school's administrators, platform
    # operators) and no class was named; otherwise (a teacher) every figure covers only the classes in `courses`.
    whole_student: bool = False

    @cached_property
    def courses(self) -> Any:
        return None if self.courses_query is None else self.courses_query()

    @cached_property
    def course_ids(self) -> Any:
        """The ids of the classes in scope: a lazy queryset (COURSES) or a list (COURSE)."""
        if self.fixed_course_ids is not None:
            return list(self.fixed_course_ids)
        return None if self.courses is None else self.courses.values_list("pk", flat=True)

    @cached_property
    def student_course_ids(self) -> Any:
        """STUDENT: the classes whose learning a figure about the student may count: None (all of it, outside any
        class too) when the viewer sees the whole student, else the ids of the classes in scope (a teacher's own)."""
        return None if self.whole_student else self.course_ids


Compute = Callable[[Scope, dict[str, Any]], Any]
Stream = Callable[[Scope, dict[str, Any]], Iterator[dict[str, Any]]]


@dataclass(frozen=True)
class Metric:
    name: str
    path: str
    summary: str
    output: type
    query: type
    subject: Subject
    audience: Audience
    compute: Compute
    owner: str
    rows: str | None = None  # the list field whose items are the metric's table rows; None: the answer is one row
    cache: Cache = Cache.PER_VIEWER
    small_group_setting: str | None = None  # settings name of the least group shown to students
    fast: Compute | None = None  # a faster implementation (raw SQL in a hot-path module); parity-tested
    # Every table row of the answer's whole range, produced without holding them (page after page): what a report
    # of millions of rows reads, where the API answers one page at a time. Parity-tested against `compute`.
    stream: Stream | None = None
    description: str = field(default="", compare=False)

    def row_type(self) -> type:
        """The TypedDict of one table row."""
        if self.rows is None:
            return self.output
        (row,) = get_args(get_type_hints(self.output)[self.rows])
        return row

    def columns(self) -> list[Column]:
        """The exportable columns: the row type's fields (nested objects and lists are one column each)."""
        return columns(self.row_type())

    def table(self, answer: dict[str, Any]) -> list[dict[str, Any]]:
        """The answer as rows of `columns()`."""
        rows = answer[self.rows] if self.rows is not None else [answer]
        names = [column.name for column in self.columns()]
        return [{name: row.get(name) for name in names} for row in rows]


_registry: dict[str, Metric] = {}


def register(metric: Metric) -> Metric:
    """Add a metric to the catalogue (at app start). A name or path registered twice is a programming error."""
    clash = next((m for m in _registry.values() if m.path == metric.path and m.name != metric.name), None)
    if metric.name in _registry or clash is not None:
        raise ValueError(f"metric {metric.name!r} ({metric.path}) is registered already")
    _registry[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    _registry.pop(name, None)


def metric(name: str) -> Metric:
    return _registry[name]


def catalogue() -> list[Metric]:
    """Every registered metric, by path."""
    return sorted(_registry.values(), key=lambda m: m.path)
