"""Django's 400/404 handlers, answering in the API's JSON error shape under /api/ and /ogc/.

A URL that matches no route (an id that is not a number, an unknown sub-path) never reaches a DRF view,
so DRF's exception handler cannot shape it; without these, API clients got Django's HTML page, which the
OpenAPI schema does not describe. Pages outside the API keep Django's default HTML responses.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults

_API_PREFIXES = ("/api/", "/ogc/")


def _is_api(request) -> bool:
    return request.path_info.startswith(_API_PREFIXES)


def page_not_found(request, exception, template_name: str = "404.html"):
    if _is_api(request):
        return JsonResponse(
            {"detail": _("未找到。"), "errors": {}, "code": "not_found"},
            status=404,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.page_not_found(request, exception, template_name)


def bad_request(request, exception, template_name: str = "400.html"):
    if _is_api(request):
        return JsonResponse(
            {"detail": _("请求无效。"), "errors": {}, "code": "bad_request"},
            status=400,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.bad_request(request, exception, template_name)
