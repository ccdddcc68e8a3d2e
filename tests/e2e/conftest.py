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

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sites import aws
from tests.e2e.support import Gateway, free_port

ROOT = Path(__file__).resolve().parents[2]


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
    port = free_port()
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME = "http"
    settings.GATEHOUSE_EDGE_PUBLIC_PORT = port
    settings_file = tmp_path / "edge_settings.json"
    settings_file.write_text(
        json.dumps(
            {
                "config_bucket": aws.config_bucket_name(),
                "config_prefix": aws.config_prefix(),
                "config_region": "us-east-1",
                "endpoint_url": local_aws.endpoint_url,
                "cache_ttl_seconds": 1,
                "stale_ttl_seconds": 60,
                "missing_ttl_seconds": 1,
                "fetch_timeout_seconds": 2,
                "public_origin": {"scheme": "http", "port": port},
            }
        )
    )
    log_path = tmp_path / "gateway.log"
    env = dict(os.environ, GATEHOUSE_EDGE_SETTINGS=str(settings_file))
    with open(log_path, "wb") as log:
        # A file, not a pipe: nobody reads the gateway's output during the
        # test, and a full pipe would block it mid-request.
        proc = subprocess.Popen(
            [sys.executable, "-m", "edge_runtime.gateway", "--port", str(port), "--origin-s3"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the gateway did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
    yield Gateway(port=port)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
