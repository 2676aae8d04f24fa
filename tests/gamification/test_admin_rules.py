"""Staff edit XP rules and achievements in admin; malformed definitions come back as form errors, not 500s."""

from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from gamification.models import Achievement, XpRule
from tests.conftest import School


@pytest.fixture
def operator_client(school: School) -> Client:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    return client


def rule_form(**fields: Any) -> dict[str, Any]:
    data = {
        "organization": "",
        "action": "material_view",
        "item_kind": "",
        "points": "5",
        "daily_item_cap": "",
        "is_active": "on",
        "score_bonuses-TOTAL_FORMS": "0",
        "score_bonuses-INITIAL_FORMS": "0",
        "score_bonuses-MIN_NUM_FORMS": "0",
        "score_bonuses-MAX_NUM_FORMS": "1000",
    }
    data.update(fields)
    return data


def test_a_valid_rule_with_score_bands_is_saved(operator_client: Client, school: School) -> None:
    data = rule_form(
        organization=str(school.organization.pk),
        action="quiz_submit",
        points="10",
        **{
            "score_bonuses-TOTAL_FORMS": "1",
            "score_bonuses-0-min_percent": "90",
            "score_bonuses-0-points": "5",
        },
    )
    response = operator_client.post("/admin/gamification/xprule/add/", data)
    assert response.status_code == 302, response.content[:2000]
    rule = XpRule.objects.get(organization=school.organization, action="quiz_submit")
    assert [(band.min_percent, band.points) for band in rule.score_bonuses.all()] == [(90, 5)]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"points": "-1"}, "greater than or equal to 0"),
        ({"action": "dancing"}, "Select a valid choice"),
        ({"daily_item_cap": "1", "points": "5"}, "daily cap per item must be at least the points"),
        ({"action": "material_view"}, "already a rule for this organisation, action and item kind"),
        (
            {"score_bonuses-TOTAL_FORMS": "1", "score_bonuses-0-min_percent": "150", "score_bonuses-0-points": "5"},
            "score band starts between 0 and 100",
        ),
    ],
)
def test_malformed_rules_are_form_errors(operator_client: Client, fields: dict[str, str], message: str) -> None:
    before = XpRule.objects.count()  # the global material_view rule exists (migration 0002)
    response = operator_client.post("/admin/gamification/xprule/add/", rule_form(**fields))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert XpRule.objects.count() == before


@pytest.mark.parametrize(
    ("kind", "threshold", "message"),
    [
        ("streak_days", "", "Required (at least 1) for this kind of achievement."),
        ("perfect_quiz", "3", "This kind of achievement takes no threshold."),
    ],
)
def test_malformed_achievements_are_form_errors(
    operator_client: Client, kind: str, threshold: str, message: str
) -> None:
    data = {"organization": "", "code": "new", "name": "New", "description": "", "kind": kind, "threshold": threshold}
    response = operator_client.post("/admin/gamification/achievement/add/", {**data, "is_active": "on"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Achievement.objects.filter(code="new").exists()
