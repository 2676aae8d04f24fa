from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from core.api import API_PREFIX, server_error_response
from core.health import health_report


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Readiness for load balancers and operators: 200 when every dependency answers, 503 naming what failed.

    Public on purpose (probes carry no credentials); it reveals only which dependency is down, never data.
    """
    ok, checks = health_report()
    failing = sorted(name for name, result in checks.items() if not result["ok"])
    body = {"status": "ok" if ok else "unavailable", "failing": failing, "checks": checks}
    return JsonResponse(body, status=200 if ok else 503)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API clients get the same JSON 404 whether the URL did not match or the object is not theirs."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """API clients get JSON with the correlation id the log line of the error also carries; pages get the HTML."""
    if request.path.startswith(API_PREFIX):
        return server_error_response(request)
    return html_server_error(request)
