"""Query-parameter parsing for the REST API: one place that turns request text into typed values.

Every helper reads ``request.query_params`` (a DRF request) or ``request.GET`` (a Django request) and
either returns a value of the declared type within its bounds or raises DRF's ``ValidationError`` with
a message keyed by the parameter's name, which ``geo_mz.api.exceptions`` turns into the project's
400 body ``{"detail": …, "errors": {"<name>": [...]}, "code": "invalid"}``. A parameter that is absent
or empty returns its default. Views call these instead of ``int(...)``/``float(...)`` so that bad input
is the client's error (400), never the server's (500).

The ``*_schema`` helpers give the matching OpenAPI parameters for ``extend_schema(parameters=[...])``
so that the published types and bounds are the ones enforced here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions

DIVISION_CODE_PATTERN = r"^(\d{6}|\d{9}|\d{12})$"
_DIVISION_CODE = re.compile(DIVISION_CODE_PATTERN)
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def invalid(name: str, message: str) -> exceptions.ValidationError:
    """The 400 error for one parameter (raise it)."""
    return exceptions.ValidationError({name: [message]})


def _params(request) -> Any:
    return getattr(request, "query_params", None) or request.GET


def _raw(request, name: str) -> str | None:
    value = _params(request).get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def query_int(
    request,
    name: str,
    default: int | None = None,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
) -> int | None:
    """A whole number (decimal digits with an optional sign) within [min_value, max_value]."""
    value = _raw(request, name)
    if value is None:
        return default
    if not re.fullmatch(r"[+-]?\d{1,18}", value):
        raise invalid(name, _("须为整数"))
    number = int(value)
    _check_bounds(name, number, min_value, max_value)
    return number


def query_float(
    request,
    name: str,
    default: float | None = None,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
) -> float | None:
    """A finite decimal number within [min_value, max_value] (units are the caller's: say them)."""
    value = _raw(request, name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise invalid(name, _("须为数字")) from None
    if not math.isfinite(number):
        raise invalid(name, _("须为有限数字"))
    _check_bounds(name, number, min_value, max_value)
    return number


def _check_bounds(name: str, number: float, min_value: float | None, max_value: float | None) -> None:
    if min_value is not None and number < min_value:
        raise invalid(name, _("不能小于 %(v)s") % {"v": min_value})
    if max_value is not None and number > max_value:
        raise invalid(name, _("不能大于 %(v)s") % {"v": max_value})


def query_bool(request, name: str, default: bool = False) -> bool:
    """1/true/yes/on or 0/false/no/off (any case)."""
    value = _raw(request, name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise invalid(name, _("须为 true 或 false"))


def query_choice(request, name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    """One of ``choices`` (exact match)."""
    value = _raw(request, name)
    if value is None:
        return default
    allowed = list(choices)
    if value not in allowed:
        raise invalid(name, _("可选值：%(v)s") % {"v": ", ".join(allowed)})
    return value


def query_division_code(request, name: str = "within", default: str | None = None) -> str | None:
    """A division code (6, 9 or 12 digits) of a division that exists; 400 otherwise."""
    from geo_mz.divisions.selectors import division_exists

    value = _raw(request, name)
    if value is None:
        return default
    if not _DIVISION_CODE.match(value):
        raise invalid(name, _("区划代码必须为 6、9 或 12 位数字"))
    if not division_exists(value):
        raise invalid(name, _("没有代码为 %(code)s 的行政区划") % {"code": value})
    return value


def query_bbox(request, name: str = "bbox") -> tuple[float, float, float, float] | None:
    """minlon,minlat,maxlon,maxlat in degrees (EPSG:4326), min < max, within ±180/±90."""
    value = _raw(request, name)
    if value is None:
        return None
    parts = value.split(",")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise invalid(name, _("须为 minlon,minlat,maxlon,maxlat 四个数")) from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise invalid(name, _("须为 minlon,minlat,maxlon,maxlat 四个数"))
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise invalid(name, _("范围无效：经度 -180～180、纬度 -90～90，且最小值小于最大值"))
    return minx, miny, maxx, maxy


# ---------------------------------------------------------------------------------------------------
# OpenAPI declarations matching the parsers above
# ---------------------------------------------------------------------------------------------------


def int_param(
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    description: str = "",
    required: bool = False,
) -> OpenApiParameter:
    schema: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return OpenApiParameter(name, schema, description=description, required=required)


def float_param(
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    description: str = "",
    required: bool = False,
) -> OpenApiParameter:
    schema: dict[str, Any] = {"type": "number"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return OpenApiParameter(name, schema, description=description, required=required)


def division_code_param(name: str = "within", description: str = "") -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "string", "pattern": DIVISION_CODE_PATTERN},
        description=description or "division code (6, 9 or 12 digits)",
    )


def bool_param(name: str, description: str = "") -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.BOOL, description=description)


def str_param(name: str, *, max_length: int = 200, description: str = "", required: bool = False):
    return OpenApiParameter(
        name, {"type": "string", "maxLength": max_length}, description=description, required=required
    )


# Numeric ids in router URLs: ``lookup_value_regex = NUMERIC_ID`` on a viewset makes /x/ and /1.5/ miss
# the route (a JSON 404 from geo_mz.api.error_pages) instead of reaching int(pk) in the view. The schema
# hook (geo_mz.api.schema_hooks) publishes path parameters with this pattern as integers.
NUMERIC_ID = r"[0-9]{1,18}"
NUMERIC_ID_SCHEMA = {"type": "integer", "minimum": 0, "maximum": 10**18 - 1}


def data_int(data, name: str, default: int | None = None, *, min_value: int | None = 0) -> int | None:
    """An optional whole number from a request body (JSON number or form text), e.g. ``version``."""
    value = data.get(name) if hasattr(data, "get") else None
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(name, _("须为整数"))
    text = str(value).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise invalid(name, _("须为整数"))
    number = int(text)
    _check_bounds(name, number, min_value, None)
    return number
