"""Bounded text query parameters: a field error (400) instead of unbounded work (issue 14).

Serializers take ``max_length`` from :mod:`geo_mz.core.limits`; this is the same check for the
few endpoints that read free text straight from the query string (``?q=``, ``?name=``).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers


def too_long_message(length: int, limit: int) -> str:
    """The field message for a text of ``length`` characters over ``limit``."""
    return _("不能超过 %(limit)d 个字符（现有 %(length)d 个）") % {"limit": limit, "length": length}


def text_param(request, name: str, limit: int, default: str = "") -> str:
    """Query parameter ``name`` (``default`` when absent); 400 on ``name`` when longer than ``limit``."""
    value = request.query_params.get(name, default)
    if len(value) > limit:
        raise serializers.ValidationError({name: [too_long_message(len(value), limit)]})
    return value
