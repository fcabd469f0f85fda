"""What a locked-out client sees (django-axes ``AXES_LOCKOUT_CALLABLE``).

django-axes counts failed logins per username and client IP (settings: ``AXES_*``). Once the limit
is reached, :class:`axes.middleware.AxesMiddleware` replaces the response of the web login, the admin
login or ``POST /api/auth/token/`` with :func:`lockout_response`: HTTP 429 with ``Retry-After``, a
Chinese page for browsers and the usual ``{"detail": …}`` error body for the API, never a bare 403.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

#: HTTP 429 Too Many Requests: the client may retry after the cool-off.
LOCKOUT_STATUS = 429


def cooloff_minutes() -> int:
    """The cool-off period in whole minutes (rounded up), 0 when lockouts do not expire."""
    cooloff = settings.AXES_COOLOFF_TIME
    if not cooloff:
        return 0
    return max(1, math.ceil(cooloff.total_seconds() / 60))


def lockout_message() -> str:
    """The sentence shown to a locked-out user (translated)."""
    minutes = cooloff_minutes()
    if minutes:
        return _(
            "登录失败次数过多，该账户在此设备上已被暂时锁定。请 %(minutes)d 分钟后再试，或联系管理员解锁。"
        ) % {"minutes": minutes}
    return _("登录失败次数过多，该账户在此设备上已被锁定。请联系管理员解锁。")


def _wants_json(request: HttpRequest) -> bool:
    if request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict | None = None
) -> HttpResponse:
    """429 with ``Retry-After``: JSON for API clients, the login page's lockout notice for browsers."""
    message = lockout_message()
    minutes = cooloff_minutes()
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            # the shape of every API error (api/exceptions.py)
            {"detail": message, "errors": {"non_field_errors": [message]}, "code": "locked_out"},
            status=LOCKOUT_STATUS,
        )
    else:
        response = render(
            request,
            "web/locked_out.html",
            {"message": message, "failure_limit": settings.AXES_FAILURE_LIMIT},
            status=LOCKOUT_STATUS,
        )
    if minutes:
        response["Retry-After"] = str(minutes * 60)
    return response
