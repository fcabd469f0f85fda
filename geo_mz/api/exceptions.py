"""Errors as JSON with field-level messages, whatever raised them.

Shape: {"detail": "<summary>", "errors": {"<field>": ["<message>", ...]}, "code": "<code>"}
"""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from geo_mz.api.text_params import too_long_message
from geo_mz.core.errors import ConflictError
from geo_mz.core.limits import InputTooLong
from geo_mz.core.upload_files import UploadRejected


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "conflict"
    default_code = "conflict"


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def json_exception_handler(exc, context):
    if isinstance(exc, UploadRejected) and exc.too_large:
        errors = exc.message_dict
        first = next(iter(errors.items()))
        body = {"detail": f"{first[0]}: {first[1][0]}", "errors": errors, "code": "too_large"}
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, InputTooLong):  # an engine's guard that no serializer caught first
        message = too_long_message(exc.length, exc.limit)
        exc = exceptions.ValidationError({exc.field or "non_field_errors": [message]})
    elif isinstance(exc, ConflictError):
        exc = Conflict(exc.message, code=exc.code)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, ObjectDoesNotExist):
        # A service's Model.objects.get(pk=...) for an id that does not exist: the client's 404.
        exc = exceptions.NotFound()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        first = next(iter(errors.items()))
        body = {"detail": f"{first[0]}: {first[1][0]}", "errors": errors, "code": "invalid"}
        return Response(body, status=status.HTTP_400_BAD_REQUEST, headers=response.headers)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    code = (
        detail.code if isinstance(detail, exceptions.ErrorDetail) else getattr(exc, "default_code", "error")
    )
    response.data = {"detail": str(detail), "errors": {}, "code": code}
    return response
