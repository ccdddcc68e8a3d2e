"""Liveness and readiness, for the container healthchecks and load balancers.

`/healthz`: the process answers (no database, no broker: a restart would not
fix those). `/readyz`: the database, the broker and S3 answer; 503 naming
which did not. Neither needs a login or a CSRF token (GET/HEAD only), and
neither shows an address, a URL or an error text: only check names.

Answered by a middleware placed before SecurityMiddleware and
CommonMiddleware, so a probe on http://127.0.0.1:8000 is neither redirected
to https nor refused for its Host header (the healthcheck inside the
container knows neither the public name nor TLS).
"""

import logging
import time

from django.conf import settings
from django.http import HttpResponseNotAllowed, JsonResponse

log = logging.getLogger(__name__)

PATHS = ("/healthz", "/readyz")


def _database():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _broker():
    from console.celery import app

    with app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _s3():
    from sites import aws

    aws.buckets_reachable(buckets=_s3_buckets())


def _s3_buckets() -> list[str]:
    # The config bucket always; a staging bucket for uploads when one is set.
    names = [settings.GATEHOUSE_CONFIG_BUCKET, settings.GATEHOUSE_STAGING_BUCKET]
    return list(dict.fromkeys(name for name in names if name))


CHECKS = {"database": _database, "broker": _broker, "s3": _s3}


def readiness() -> tuple[bool, dict]:
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            check()
        except Exception as exc:
            # The exception's type only: its text may carry a URL with a password.
            log.warning("readiness: %s failed (%s)", name, type(exc).__name__)
            results[name] = {"ok": False, "error": type(exc).__name__}
        else:
            results[name] = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
    return all(result["ok"] for result in results.values()), results


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    ready, checks = readiness()
    return JsonResponse({"status": "ready" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info.rstrip("/")
        if path not in PATHS:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        response = healthz(request) if path == "/healthz" else readyz(request)
        response["Cache-Control"] = "no-store"
        return response
