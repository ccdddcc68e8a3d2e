"""What the console benchmarks share: Django on a throwaway database, with
test AWS credentials (moto), and the helpers that print a figure.

Call `django_start(database_url)` before importing anything from the console.
"""

import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_start(database_url: str) -> None:
    """Point Django at `database_url`, away from .env and any real AWS profile, and set it up."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    os.environ["DATABASE_URL"] = database_url
    os.environ["GATEHOUSE_ENV_FILE"] = os.devnull
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

    import django

    django.setup()
    logging.disable(logging.WARNING)


def median_ms(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def line(what, value, baseline, unit="ms", base_name="baseline"):
    ratio = value / baseline if baseline else float("inf")
    print(f"   {what}: {value:.2f} {unit}; {base_name} {baseline:.2f} {unit}; ratio {ratio:.2f}")


def provider_make(**extra):
    """A saved identity provider on made-up endpoints (nothing is fetched)."""
    from sites.models import IdentityProvider

    provider = IdentityProvider(
        name="Bench", issuer="https://bench.example/", authorization_endpoint="https://bench.example/authorize",
        token_endpoint="https://bench.example/token", jwks_uri="https://bench.example/jwks", client_id="bench",
        **extra,
    )
    provider.client_secret = "bench-secret"
    provider.save()
    return provider
