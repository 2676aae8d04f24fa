"""Figures other apps add to a person's profile (GET users/{id}) without classroom importing them: gamification
registers the student's XP total here in its AppConfig.ready, so the one-way app order (accounts ← classroom ←
analytics ← gamification) holds, as analytics.hooks does for the event store."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accounts.models import User


@dataclass(frozen=True)
class StudentFigure:
    """A whole number about a student that their profile's student_stats shows under `name`. `compute` takes the
    student and the classes whose learning the viewer may count: None for all of it (the student, their school's
    administrators), else the ids (a subquery) of the classes a teacher teaches (classroom.selectors decides)."""

    name: str
    description: str  # the API schema's description of the field
    compute: Callable[[User, Any], int]


_student_figures: dict[str, StudentFigure] = {}


def add_student_figure(figure: StudentFigure) -> None:
    """Show `figure` in every student's profile (at app start). A name added twice is a programming error."""
    if figure.name in _student_figures:
        raise ValueError(f"student figure {figure.name!r} is added already")
    _student_figures[figure.name] = figure


def student_figures() -> list[StudentFigure]:
    """The figures other apps added, in the order they were added."""
    return list(_student_figures.values())
