"""Every model is in Django admin, and its list page with search and filters works."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db.models import Model
from django.test import Client

from accounts.models import User
from tests.conftest import School

OUR_APPS = {"accounts", "classroom", "analytics", "gamification", "recommendations", "reports"}


def our_models() -> list[type[Model]]:
    return [model for model in apps.get_models() if model._meta.app_label in OUR_APPS]


def test_every_model_is_registered() -> None:
    missing = [model.__name__ for model in our_models() if not admin.site.is_registered(model)]
    assert missing == []


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m.__name__)
def test_changelist_search_and_detail_pages_load(model: type[Model], school: School) -> None:
    operator = User.objects.create_superuser("operator", "op@example.test", "pass-word-123")
    client = Client()
    client.force_login(operator)
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert client.get(base).status_code == 200
    assert client.get(base, {"q": "a"}).status_code == 200
    instance = model._default_manager.first()
    if instance is not None:
        assert client.get(f"{base}{instance.pk}/change/").status_code == 200
