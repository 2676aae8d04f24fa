"""Sign-in throttling: per account, with a generous ceiling per address.

Why: a whole class signs in at once from behind one school router (one address). A per-address brake refused most
of them; a brake per account stops guessing one person's password without touching anyone else, and the address
ceiling still stops one machine from trying account after account."""

from typing import Any

from django.test import override_settings
from rest_framework.test import APIClient

from tests.conftest import School
from tests.factories import StudentFactory

PASSWORD = "pass-word-123"  # the factories' password
TOKEN = "/api/v1/auth/token/"


def sign_in(username: str, password: str = PASSWORD, *, address: str = "10.0.0.1") -> Any:
    return APIClient().post(TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=address)


@override_settings(AUTH_THROTTLE_RATE="3/min", AUTH_THROTTLE_ADDRESS_RATE="300/min")
def test_a_class_behind_one_router_signs_in_together(school: School) -> None:
    # given: thirty students sharing one address, and a per-account allowance of three a minute
    students = [StudentFactory.create(organization=school.organization) for _ in range(30)]

    # when: each signs in, and one of them mistypes twice first
    mistakes = [sign_in(students[0].username, "wrong").status_code for _ in range(2)]
    answers = [sign_in(student.username).status_code for student in students]

    # then: everyone is let in
    assert mistakes == [401, 401]
    assert answers == [200] * 30


@override_settings(AUTH_THROTTLE_RATE="3/min", AUTH_THROTTLE_ADDRESS_RATE="300/min")
def test_guessing_one_password_is_stopped_from_any_address(school: School) -> None:
    # when: four guesses at one account, each from another address, in varying case
    guesses = [
        sign_in(name, "guess", address=f"192.0.2.{number}").status_code
        for number, name in enumerate(["student", "Student", "STUDENT", " student "], start=1)
    ]

    # then: the fourth is refused, and someone else still signs in from the same address
    assert guesses == [401, 401, 401, 429]
    assert sign_in("student", address="192.0.2.4").status_code == 429
    assert sign_in("classmate", address="192.0.2.4").status_code == 200


@override_settings(AUTH_THROTTLE_RATE="100/min", AUTH_THROTTLE_ADDRESS_RATE="5/min")
def test_one_address_trying_many_accounts_meets_the_ceiling(school: School) -> None:
    # when: six accounts tried from one address
    tries = [sign_in(f"someone{number}", "guess").status_code for number in range(6)]

    # then: the sixth is refused, with when to try again; another address is not affected
    assert tries == [401] * 5 + [429]
    refused = sign_in("student")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert sign_in("student", address="10.0.0.2").status_code == 200


@override_settings(AUTH_THROTTLE_RATE="1/min", AUTH_THROTTLE_ADDRESS_RATE="300/min")
def test_refreshing_tokens_is_held_to_the_address_ceiling_only(school: School) -> None:
    # given: the one sign-in this account may make this minute
    refresh = sign_in("student").json()["refresh"]
    client = APIClient()

    # when: the token is refreshed twice (rotation: each answer carries the next refresh token)
    first = client.post(f"{TOKEN}refresh/", {"refresh": refresh}, format="json", REMOTE_ADDR="10.0.0.1")
    second = client.post(
        f"{TOKEN}refresh/", {"refresh": first.json()["refresh"]}, format="json", REMOTE_ADDR="10.0.0.1"
    )

    # then: both succeed (a refresh names no account), while a second sign-in is refused
    assert (first.status_code, second.status_code) == (200, 200)
    assert sign_in("student").status_code == 429


@override_settings(AUTH_THROTTLE_RATE="1/min", AUTH_THROTTLE_ADDRESS_RATE="300/min")
def test_an_account_named_by_a_number_shares_its_allowance(school: School) -> None:
    # given: an account whose username is digits, signed in once (its allowance for this minute)
    StudentFactory.create(organization=school.organization, username="2024")
    assert sign_in("2024").status_code == 200

    # when: the same name is sent as a JSON number (the sign-in reads it as the text "2024")
    again = APIClient().post(TOKEN, {"username": 2024, "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.1")

    # then: it is the same account, so it is refused
    assert again.status_code == 429


@override_settings(AUTH_THROTTLE_RATE="1/min", AUTH_THROTTLE_ADDRESS_RATE="300/min")
def test_a_body_naming_no_account_is_answered_as_before(school: School) -> None:
    # when: bodies without a usable username, sent more often than one account may sign in
    client = APIClient()
    answers = [client.post(TOKEN, {"username": ["x"], "password": "x"}, format="json") for _ in range(2)]
    malformed = client.generic("POST", TOKEN, '{"username": ', content_type="application/json")

    # then: field errors and a parse error, never a throttle
    assert [answer.status_code for answer in answers] == [400, 400]
    assert "username" in answers[1].json()
    assert malformed.status_code == 400
    assert "JSON parse error" in malformed.json()["detail"]
