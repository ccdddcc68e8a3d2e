"""Every API error as JSON: {"error": {"code": "...", "message": "...", "fields": {...}}}.

`code` is stable (scripts branch on it); `message` says what to do next.
Errors raised in a view go through `exception_handler` (DRF's hook); those
Django answers before any view runs (no URL matched, a body too large for
Django to read, an uncaught exception) go through `handler404`,
`handler400` and `handler500`, which console/urls.py names, so /api/ never
answers with an HTML page. docs/api.md lists the codes.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, HttpResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"

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


def _messages(detail) -> list[str]:
    """The messages of one field's errors; a list's item errors ({index: [...]}) say which item, counting from 1."""
    if isinstance(detail, dict):
        return [f"item {int(k) + 1 if str(k).isdigit() else k}: {m}" for k, v in detail.items() for m in _messages(v)]
    if isinstance(detail, list):
        return [m for item in detail for m in _messages(item)]
    return [str(detail)]


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(k): _messages(v) for k, v in detail.items()}
    return {"non_field_errors": _messages(detail)}


def exception_handler(exc, context):
    if isinstance(exc, (RequestDataTooBig, TooManyFieldsSent)):
        exc = ApiError(
            "The request body is too large for the API; send big builds as a manifest deploy (docs/api.md).",
            code="request_too_large", status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    elif isinstance(exc, SuspiciousOperation):
        exc = ApiError("The request could not be read; check its headers and body.", code="malformed_request")
    elif isinstance(exc, Http404):
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


# --- before or outside a view: Django's own error handlers, JSON under /api/ -----------------------


def _json(message: str, *, code: str, status_code: int) -> HttpResponse:
    body = json.dumps({"error": {"code": code, "message": message}})
    return HttpResponse(body, status=status_code, content_type="application/json")


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def handler404(request, exception=None):
    if _is_api(request):
        return _json(
            "No API address like this one: the addresses are listed in the schema at /api/schema/.",
            code="not_found", status_code=404,
        )
    return defaults.page_not_found(request, exception)


def handler400(request, exception=None):
    if _is_api(request):
        if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)):
            return _json("The request body is too large for the API; send big builds as a manifest deploy (docs/api.md).", code="request_too_large", status_code=413)
        return _json("The request could not be read; check its headers and body.", code="malformed_request", status_code=400)
    return defaults.bad_request(request, exception)


def handler500(request):
    if _is_api(request):
        # The cause is logged (django.request) with the request id; nothing of it goes to the client.
        return _json(
            "Something went wrong on the console's side; try again, and tell the console's operators if it persists.",
            code="server_error", status_code=500,
        )
    return defaults.server_error(request)
