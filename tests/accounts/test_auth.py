"""Session login for pages, JWT for SPA clients: obtain, refresh with rotation, blacklist, logout."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import School

PASSWORD = "pass-word-123"  # the factories' password


def obtain(client: APIClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


def test_jwt_obtain_and_use(school: School) -> None:
    client = APIClient()
    tokens = obtain(client, "teacher").json()
    assert set(tokens) == {"access", "refresh"}
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/me/").json()["username"] == "teacher"


def test_refresh_rotates_and_the_old_refresh_token_stops_working(school: School) -> None:
    client = APIClient()
    first = obtain(client, "student").json()["refresh"]
    # when refreshed
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": first}, format="json")
    assert response.status_code == 200
    second = response.json()["refresh"]
    assert second != first
    # then the first is blacklisted, the second works
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": first}, format="json").status_code == 401
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": second}, format="json").status_code == 200


def test_logout_blacklists_the_refresh_token(school: School) -> None:
    client = APIClient()
    tokens = obtain(client, "student").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 204
    client.credentials()
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401


def test_logout_refuses_someone_elses_refresh_token(school: School) -> None:
    client = APIClient()
    others = obtain(client, "classmate").json()["refresh"]
    mine = obtain(client, "student").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    response = client.post("/api/v1/auth/logout/", {"refresh": others}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()
    # and the classmate's token still works
    client.credentials()
    assert client.post("/api/v1/auth/token/refresh/", {"refresh": others}, format="json").status_code == 200


def test_login_failure_does_not_reveal_whether_the_user_exists(school: School) -> None:
    client = APIClient()
    wrong_password = obtain(client, "student", "not-the-password")
    no_such_user = obtain(client, "nobody-here", "not-the-password")
    assert wrong_password.status_code == no_such_user.status_code == 401
    assert wrong_password.json() == no_such_user.json()


def test_inactive_user_cannot_obtain_or_use_tokens(school: School) -> None:
    client = APIClient()
    access = obtain(client, "student").json()["access"]
    school.student.is_active = False
    school.student.save()
    assert obtain(client, "student").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/v1/me/").status_code == 401


def test_token_endpoint_is_throttled(school: School, settings) -> None:
    settings.AUTH_THROTTLE_RATE = "3/min"
    client = APIClient()
    statuses = [obtain(client, "student", "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize("username", ["student", "teacher", "admin"])
def test_session_login_page_logs_in(school: School, username: str) -> None:
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="password"' in page.content
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert username.encode() in home.content


def test_session_login_failure_message_is_the_same_for_unknown_users(school: School) -> None:
    client = Client()
    wrong = client.post("/accounts/login/", {"username": "student", "password": "nope"})
    unknown = client.post("/accounts/login/", {"username": "nobody-here", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 200
    message = b"did not match"
    assert message in wrong.content and message in unknown.content


def test_logout_ends_the_session(school: School) -> None:
    client = Client()
    client.force_login(school.student)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_home_lists_visible_classes_with_real_counts(school: School) -> None:
    client = Client()
    client.force_login(school.teacher)
    page = client.get("/").content.decode()
    assert "MATH-1" in page
    assert "HIST-1" not in page


def test_home_credits_oulad_when_showing_its_courses(school: School) -> None:
    client = Client()
    client.force_login(school.teacher)
    assert b"Open University Learning Analytics Dataset" not in client.get("/").content
    school.course.external_source = "oulad"
    school.course.save()
    assert b"Open University Learning Analytics Dataset" in client.get("/").content
