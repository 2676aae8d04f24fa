"""The OpenAPI schema is valid, covers every /api/v1/ route, and its docs page loads nothing from other hosts."""

import re
from collections.abc import Hashable, Iterable, Iterator
from html.parser import HTMLParser
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate

API_PREFIX = "/api/v1/"
# A URL parameter in any notation: Django path converters <int:pk>, router regex groups (?P<pk>[^/.]+), OpenAPI {id}.
PARAMETER = re.compile(r"\(\?P<[^>]+>[^)]*\)|<[^>]+>|\{[^}]+\}")


def urlconf_routes(patterns: Iterable[URLPattern | URLResolver], prefix: str = "/") -> Iterator[str]:
    """Every route of the URLconf as written, includes flattened (independent of drf-spectacular's own walk)."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).removeprefix("^").removesuffix("$")
        if isinstance(pattern, URLResolver):
            yield from urlconf_routes(pattern.url_patterns, route)
        else:
            yield route


def normalised(route: str) -> str:
    """The route with every parameter written {}, so that /courses/(?P<pk>[^/.]+)/ matches /courses/{id}/."""
    return PARAMETER.sub("{}", route)


def served_schema() -> dict[Hashable, Any]:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    schema: dict[Hashable, Any] = response.json()
    return schema


class AssetCollector(HTMLParser):
    """Collects the URLs a page makes the browser fetch on load: script sources and link hrefs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href", "img": "src"}.get(tag)
        self.urls.extend(value for name, value in attrs if name == wanted and value)


def test_served_schema_is_valid_openapi() -> None:
    schema = served_schema()

    validate(schema)  # raises on any violation of the OpenAPI 3.0 specification
    assert schema["openapi"].startswith("3.0")
    assert schema["info"]["title"] == "EduPath Analytics API"


def test_schema_documents_every_api_v1_route() -> None:
    # given
    all_routes = urlconf_routes(get_resolver().url_patterns)
    routes = {normalised(route) for route in all_routes if route.startswith(API_PREFIX)}
    assert routes, "the URLconf has no /api/v1/ routes: the walk is broken"

    # when
    documented = {normalised(path) for path in served_schema()["paths"]}

    # then
    assert routes - documented == set()


def test_spectacular_validates_without_warnings() -> None:
    output = StringIO()

    # Raises CommandError on a validation error or, with --fail-on-warn, on any generator warning.
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=output)

    assert '"openapi"' in output.getvalue()


@pytest.mark.parametrize("docs_page", ["/api/docs/", "/api/redoc/"])
def test_api_docs_page_loads_assets_only_from_this_server(docs_page: str) -> None:
    """Swagger UI and ReDoc work offline and tell no other host who reads them (drf-spectacular's own ReDoc page
    links Google Fonts; templates/drf_spectacular/redoc.html replaces it)."""
    # when
    response = Client().get(docs_page)

    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    collector = AssetCollector()
    collector.feed(page)
    assert collector.urls, "no script or link tags found: the docs template changed"
    assert all(url.startswith("/static/") for url in collector.urls), collector.urls
    assert not re.search(r"https?://", page), "the docs page names an absolute URL"
