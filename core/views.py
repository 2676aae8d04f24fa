from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
