"""Every API error as JSON: {"error": {"code": "...", "message": "...", "fields": {...}}}.

`code` is stable (scripts branch on it); `message` says what to do next.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# DRF's own codes, as ours.
CODES = {
    "not_authenticated": "not_authenticated",
    "authentication_failed": "token_refused",
    "permission_denied": "forbidden",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "not_acceptable": "not_acceptable",
    "unsupported_media_type": "unsupported_media_type",
    "parse_error": "malformed_request",
    "throttled": "throttled",
    "invalid": "validation_failed",
}


class ApiError(exceptions.APIException):
    """An error with our own code and message, from a view."""

    def __init__(self, message: str, *, code: str, status_code: int = 400, fields: dict | None = None):
        super().__init__(message, code)
        self.status_code = status_code
        self.code = code
        self.fields = fields or {}


def error_response(message: str, *, code: str, status_code: int, fields: dict | None = None, headers=None) -> Response:
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return Response(body, status=status_code, headers=headers)


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing here by that name: check the site id, build number or deployment id.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a 500: Django's own handling (logged, Sentry)
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
    if isinstance(exc, ApiError):
        return error_response(str(exc.detail), code=exc.code, status_code=exc.status_code, fields=exc.fields, headers=headers)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail)
        first = next(iter(fields.items()))
        message = first[1][0] if first[0] == "non_field_errors" else f"{first[0]}: {first[1][0]}"
        return error_response(message, code="validation_failed", status_code=status.HTTP_400_BAD_REQUEST, fields=fields, headers=headers)
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    code = codes if isinstance(codes, str) else "error"
    code = getattr(exc, "default_code", code) if type(exc).__module__.startswith("sites.") else CODES.get(code, code)
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    return error_response(str(detail), code=code, status_code=response.status_code, headers=headers)
