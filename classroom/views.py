from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from classroom.selectors import course_list_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Landing page after login: who you are and the classes you can see."""
    courses = list(course_list_for(request.user).select_related("organization").order_by("code"))
    # OULAD (CC BY 4.0) must be credited wherever its data is shown.
    shows_oulad = any(course.external_source == "oulad" for course in courses)
    return render(request, "classroom/home.html", {"courses": courses, "shows_oulad": shows_oulad})
