"""Helpers the end-to-end tests share (the fixtures are in conftest.py)."""

import io
import time
import zipfile
from dataclasses import dataclass

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
