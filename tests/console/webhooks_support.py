"""A webhook receiver process (tests/fixtures/webhook_receiver.py) and endpoints pointed at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "fixtures" / "webhook_receiver.py"


class Receiver:
    def __init__(self, *, secret: str = "", secret_file: str = "", fail_first: int = 0, redirect_to: str = ""):
        env = dict(os.environ, WEBHOOK_SECRET=secret, WEBHOOK_SECRET_FILE=secret_file, RECEIVER_FAIL_FIRST=str(fail_first),
                   RECEIVER_REDIRECT_TO=redirect_to, RECEIVER_LIFETIME="300", PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.proc.kill()
            pytest.fail(f"the webhook receiver did not start: {line}{self.proc.stdout.read()}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}/hooks/gatehouse"

    def received(self) -> list[dict]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/received", timeout=5) as response:
            return json.loads(response.read())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def receivers():
    """Start receivers with receivers(secret=..., fail_first=...); all are stopped after the test."""
    started = []

    def start(**options) -> Receiver:
        receiver = Receiver(**options)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()


def endpoint_make(*, url: str, events=None, kind: str = "standard"):
    from sites.services.webhooks import endpoint_create

    return endpoint_create(kind=kind, url=url, description="test receiver", events=events or ["build.live"], actor=None)
