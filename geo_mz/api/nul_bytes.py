"""Refuse NUL bytes (U+0000) in the path, the query string and text bodies with a 400.

PostgreSQL text cannot hold U+0000: psycopg raises ValueError as soon as such a string reaches a query,
which surfaced as a 500 on any endpoint that filters by a parameter. No legitimate place name, code or
address contains one, so the request is refused before any view runs.

Checked: the decoded path, every query parameter (name and value), and bodies sent as JSON
(``\\u0000`` escapes or raw NULs) or as urlencoded forms (``%00`` or raw NULs). Multipart bodies are not
read here: uploads are binary and may contain NUL bytes legitimately, and reading them before the view
would bypass the views' own permission and size checks.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

_JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)


def _nul_field(request) -> str | None:
    """The name of the first place holding a NUL byte, or None."""
    if "\x00" in request.path_info:
        return "path"
    query = request.META.get("QUERY_STRING", "")
    if "\x00" in query or "%00" in query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return name.replace("\x00", "") or "query"
        return "query"
    content_type = (request.content_type or "").lower()
    if request.method in ("POST", "PUT", "PATCH") and (
        content_type == "application/json" or content_type.endswith("+json")
    ):
        if _JSON_NUL.search(request.body):
            return "body"
    elif request.method in ("POST", "PUT", "PATCH") and content_type == "application/x-www-form-urlencoded":
        body = request.body
        if b"\x00" in body or b"%00" in body:
            return "body"
    return None


class RefuseNulBytesMiddleware:
    """400 (the API's JSON error shape under /api/ and /ogc/, plain text elsewhere) for NUL bytes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        message = _("不能包含空字符（NUL）")
        if request.path_info.startswith(("/api/", "/ogc/")):
            return JsonResponse(
                {"detail": f"{field}: {message}", "errors": {field: [message]}, "code": "invalid"},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
