"""Request ids: one per request, taken from the proxy when it sent a sane one."""

import re
import uuid

from django.core.signals import request_finished
from django.dispatch import receiver

from .logs import request_id_var

HEADER = "X-Request-ID"
# A proxy's id is kept (so its access log and ours match), but only a short
# token: the header is client-controlled and ends up in every log line.
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def request_id_from(value: str | None) -> str:
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        # Not reset on the way out: Django logs a 4xx/5xx ("Not Found: ...")
        # after the middleware has returned. request_finished clears it.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished)
def _request_id_forget(**kwargs):
    request_id_var.set("")
