"""Plain-language reasons, written only from a recommendation's signals (the facts the engine used), so every figure
a student reads is one that tests recompute from stored data (tests/recommendations/test_reasoning.py)."""

from datetime import date
from typing import Any


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _format_number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def sentence(signal: dict[str, Any]) -> str:
    kind = signal.get("kind")
    if kind == "due_soon":
        due = date.fromisoformat(signal["due_at"][:10])
        days = signal["days_left"]
        when = "today" if days == 0 else f"in {_plural(days, 'day')}"
        return (
            f"due {when} ({due:%d %b}); {signal['handed_in']} of your {_plural(signal['classmates'], 'classmate')} "
            "have handed it in"
        )
    if kind == "mastery_gap":
        module = signal["module"] or "this module"
        return (
            f"your scores in {module} average {_format_number(signal['student_mean'])} %, "
            f"class {_format_number(signal['class_mean'])} %"
        )
    if kind == "path_next":
        return (
            f'step {signal["step"]} of your learning path "{signal["path"]}" ({signal["completed"]} of '
            f"{signal['steps']} steps done)"
        )
    if kind == "class_recent":
        return (
            f"{signal['opened_7d']} of your {_plural(signal['classmates'], 'classmate')} opened it in the last 7 days"
        )
    if kind == "class_uptake":
        return (
            f"{signal['new_7d']} of the {signal['had_not_opened']} who had not opened it before opened it for the "
            "first time this past week"
        )
    if kind == "similar_students":
        return (
            f"{signal['opened_next_week']} of the {signal['neighbours']} classmates whose history a week earlier was "
            "closest to yours now opened it in the week that followed"
        )
    if kind == "planned_week":
        return f"planned for week {signal['week']}; the course is in week {signal['current_week']}"
    return ""


def reasoning_from(signals: list[dict[str, Any]]) -> str:
    """The signals' sentences, most specific first: '…; …; ….'"""
    order = ["due_soon", "path_next", "mastery_gap", "similar_students", "class_uptake", "class_recent", "planned_week"]
    ranked = sorted(signals, key=lambda signal: order.index(signal["kind"]) if signal["kind"] in order else len(order))
    parts = [text for text in (sentence(signal) for signal in ranked) if text]
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
