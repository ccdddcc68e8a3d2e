"""Shared end-to-end fixtures: the local AWS (moto's server) for the console,
and the edge gateway reading the published configs from it.

``local_aws``
    Points the console (this process, and so pytest-django's ``live_server``
    thread) at moto's server with fake credentials. The Celery worker process
    gets the same endpoint from ``celery_worker_process``.

``gateway``
    ``python -m edge_runtime.gateway --origin-s3`` on a free port: the local
    CloudFront stand-in that runs ``edge_runtime`` in front of the site
    buckets. Yields a ``Gateway``; ``gateway.url`` is the origin for the
    default host ``acme.localhost`` and ``gateway.origin(host)`` for any other
    ``*.localhost`` name (Chromium resolves those to loopback). The console's
    ``GATEHOUSE_EDGE_PUBLIC_PORT`` is set to the gateway's port, so the
    addresses the site page shows open the site through the gateway.
"""

import pytest

from sites import aws
from tests.e2e.support import Gateway, gateway_start


@pytest.fixture
def local_aws(settings, moto_server, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings.GATEHOUSE_AWS_ENDPOINT_URL = moto_server.endpoint_url
    aws.clients_reset()
    yield moto_server
    aws.clients_reset()


@pytest.fixture
def gateway(local_aws, settings, tmp_path):
    process = gateway_start(
        tmp_path, bucket=aws.config_bucket_name(), prefix=aws.config_prefix(), endpoint_url=local_aws.endpoint_url, args=["--origin-s3"]
    )
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME = "http"
    settings.GATEHOUSE_EDGE_PUBLIC_PORT = process.port
    yield Gateway(port=process.port)
    process.stop()
