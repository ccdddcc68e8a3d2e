"""Helpers the end-to-end tests share (the fixtures are in conftest.py)."""

import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import boto3

import pytest
from tests.fixtures.ports import free_port

HOST = "acme.localhost"



def site_zip(title):
    """A built site whose index.html shows `title` as its heading."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", f"<!doctype html><title>{title}</title><h1>{title}</h1>")
        archive.writestr("assets/app.3f9a1c2b.js", "console.log('hi')")
    return buffer.getvalue()


def reload_until(page, url, text, timeout=20):
    """Load `url` until it shows `text` (the gateway caches configs for a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(url)
        if text in page.content():
            return
        time.sleep(0.5)
    pytest.fail(f"{url} never showed {text!r}; it shows: {page.content()[:500]}")


@dataclass
class Gateway:
    port: int
    host: str = HOST

    def origin(self, host=None):
        return f"http://{host or self.host}:{self.port}"

    @property
    def url(self):
        return self.origin()


# --- the gateway process ---------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def s3_client(endpoint_url: str):
    return boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass
class GatewayProcess:
    process: subprocess.Popen
    port: int
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def gateway_start(work: Path, *, bucket: str, prefix: str, endpoint_url: str, args: list[str]) -> GatewayProcess:
    """`python -m edge_runtime.gateway --port <free> *args` reading configs from `bucket` on moto; waits until it listens."""
    port = free_port()
    settings = work / "edge_settings.json"
    settings.write_text(
        json.dumps(
            {
                "config_bucket": bucket,
                "config_prefix": prefix,
                "config_region": "us-east-1",
                "endpoint_url": endpoint_url,
                "cache_ttl_seconds": 1,
                "stale_ttl_seconds": 60,
                "missing_ttl_seconds": 1,
                "fetch_timeout_seconds": 2,
                "public_origin": {"scheme": "http", "port": port},
            }
        )
    )
    log_path = work / "gateway.log"
    env = dict(os.environ, **FAKE_AWS, GATEHOUSE_EDGE_SETTINGS=str(settings))
    with open(log_path, "wb") as log:
        # A file, not a pipe: nobody reads the gateway's output during the
        # test, and a full pipe would block it mid-request.
        process = subprocess.Popen(
            [sys.executable, "-m", "edge_runtime.gateway", "--port", str(port), *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return GatewayProcess(process, port, log_path)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("the gateway did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
