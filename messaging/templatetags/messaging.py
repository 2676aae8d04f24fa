"""`{% messages_for_student %}`: on a student's page, their notices (their own page) or the log of messages they
were sent in the viewer's classes (a teacher's or administrator's drill-down)."""

from typing import Any

from django import template

from messaging import selectors

register = template.Library()


@register.inclusion_tag("messaging/notices.html", takes_context=True)
def messages_for_student(context: dict[str, Any], student: Any) -> dict[str, Any]:
    viewer = context["request"].user
    if viewer.pk == student.pk:
        return {"own_page": True, "notices": selectors.notices_for(student=student), "zone": context.get("zone")}
    return {
        "own_page": False,
        "logged": selectors.messages_to_student(student=student, viewer=viewer),
        "zone": context.get("zone"),
    }
