"""drf-spectacular post-processing: make the published OpenAPI schema say what the API really answers.

Applied to the whole generated document (settings.SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]):

1. Error responses. Every operation may answer 400 (ill-formed input), 401/403 (authentication, role,
   jurisdiction), 404 (unknown id), 409 (stale version, state conflict), 413 (upload too large) and 429
   (login throttling), always in the one JSON shape of geo_mz.api.exceptions / error_pages. Declared once
   here instead of on each of the ~120 operations, so a client (and Schemathesis) can check them.
2. Numeric path ids. Router lookups restricted to ``params.NUMERIC_ID`` are published as integers.
3. File downloads. An operation whose path ends in a file extension (``report.pdf/``, ``export.{fmt}``)
   answers that media type, not JSON; OGC resources with ``?f=html`` also answer text/html.
"""

from __future__ import annotations

from typing import Any

from geo_mz.api.params import NUMERIC_ID, NUMERIC_ID_SCHEMA

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "错误 / error: a summary, messages by field, and a machine-readable code",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "code": {"type": "string"},
    },
    "required": ["detail", "errors", "code"],
}
ERROR_RESPONSES = {
    "400": "请求参数或数据无效 / invalid parameters or data (messages by field)",
    "401": "需要登录 / authentication required",
    "403": "无权限 / not permitted (role or jurisdiction)",
    "404": "未找到 / not found",
    "409": "冲突 / conflict (stale version or state)",
    "413": "上传过大 / upload too large",
    "429": "尝试过多 / too many attempts",
}
_METHODS = {"get", "put", "post", "patch", "delete"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Media types by file extension, for the downloads whose path names the format.
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": XLSX,
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
    "zip": "application/zip",
    "kml": "application/vnd.google-earth.kml+xml",
    "geojson": "application/geo+json",
    "html": "text/html",
}
# Paths with a {fmt} extension: the formats their views accept (see the views' own checks).
FORMAT_PATHS = {
    "/api/addresses/export.{fmt}": ["xlsx", "gpkg"],
    "/api/placenames/gazetteer.{fmt}": ["xlsx", "csv", "pdf"],
}


def _binary(media_type: str) -> dict[str, Any]:
    if media_type.endswith("json"):
        return {"schema": {"type": "object"}}
    if media_type.startswith("text/") and media_type != "text/html":
        return {"schema": {"type": "string"}}
    return {"schema": {"type": "string", "format": "binary"}}


def _file_media_types(path: str) -> list[str]:
    if path.startswith("/ogc/") and path.endswith(("/queryables", "/schema")):
        return ["application/schema+json"]  # OGC API – Features Part 5: JSON Schema documents
    if path in FORMAT_PATHS:
        return [MEDIA_TYPES[f] for f in FORMAT_PATHS[path]]
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    if "." not in tail or "{" in tail:
        return []
    media_type = MEDIA_TYPES.get(tail.rsplit(".", 1)[-1])
    return [media_type] if media_type else []


def _numeric_ids(operation: dict[str, Any]) -> None:
    anchored = f"^{NUMERIC_ID}$"
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "path" and parameter.get("schema", {}).get("pattern") == anchored:
            parameter["schema"] = dict(NUMERIC_ID_SCHEMA)


def _file_responses(path: str, operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        if path in FORMAT_PATHS and parameter.get("in") == "path" and parameter.get("name") == "fmt":
            parameter["schema"] = {"type": "string", "enum": FORMAT_PATHS[path]}
    media_types = _file_media_types(path)
    if not media_types or operation.get("x-keep-content"):
        return
    ok = operation.setdefault("responses", {}).setdefault("200", {"description": ""})
    ok["content"] = {m: _binary(m) for m in media_types}


def _html_format(operation: dict[str, Any]) -> None:
    """OGC API pages: ``?f=html`` answers the same resource as an HTML page."""
    for parameter in operation.get("parameters", []):
        is_format = parameter.get("in") == "query" and parameter.get("name") == "f"
        if is_format and "html" in parameter.get("schema", {}).get("enum", []):
            ok = operation.setdefault("responses", {}).setdefault("200", {"description": ""})
            ok.setdefault("content", {})["text/html"] = {"schema": {"type": "string"}}


def _error_responses(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    ref = {"$ref": "#/components/schemas/Error"}
    for code, description in ERROR_RESPONSES.items():
        entry = responses.setdefault(code, {"description": description})
        if not entry.get("content"):  # a view's own declaration (e.g. an import report on 400) wins
            entry["content"] = {"application/json": {"schema": ref}}


def api_schema_postprocess(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """The POSTPROCESSING_HOOKS entry: see the module docstring."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            _numeric_ids(operation)
            if method == "get":
                _file_responses(path, operation)
                _html_format(operation)
            _error_responses(operation)
    return result
