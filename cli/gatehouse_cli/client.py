"""The console's REST API over httpx: one client, errors as `Failure` with the exit code CI branches on."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx

from . import __version__

# Exit codes (docs/api.md, "Exit codes"). Stable: CI scripts branch on them.
OK = 0
ERROR = 1  # anything unexpected (a bug: please report it)
USAGE = 2  # bad arguments (argparse's own code)
REFUSED = 3  # no token, a token refused, or a role or scope that does not allow it (401, 403)
INVALID = 4  # the console refused the input: validation, not found, conflict (400, 404, 409, 413)
FAILED = 5  # the deployment ran and failed
NETWORK = 6  # the console could not be reached, timed out, or answered a 5xx
TIMEOUT = 7  # --wait gave up; the deployment goes on in the console


class Failure(Exception):
    """What the person reads (one line), the stable code, and the process's exit status."""

    def __init__(self, message: str, *, exit_code: int, code: str = "error", status: int | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code
        self.status = status

    def as_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "status": self.status, "exit_code": self.exit_code}}


def exit_code_for(status: int) -> int:
    if status in (401, 403):
        return REFUSED
    if status >= 500:
        return NETWORK
    return INVALID


def _failure_from(response: httpx.Response) -> Failure:
    code, message = f"http_{response.status_code}", ""
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = str(error.get("code") or code)
        message = str(error.get("message") or "")
    except ValueError:
        pass
    if not message:
        message = f"The console answered {response.status_code} {response.reason_phrase} to {response.request.method} {response.request.url.path}."
    return Failure(message, exit_code=exit_code_for(response.status_code), code=code, status=response.status_code)


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds from a 429's Retry-After (the console sends whole seconds), or None without a usable one."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds < 3600 else None


class Api:
    """`GATEHOUSE_URL` + `/api/v1/…`, the token sent only to that origin (never to a presigned S3 address).

    A 429 (the token's rate, GATEHOUSE_API_RATE) is waited out as its
    Retry-After says and the request sent again, up to `throttle_wait`
    seconds in all for this client; past that it is a Failure like any other.
    The console throttles before a view runs, so the retried request was not
    acted on: sending it again is safe for every method.
    """

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None,
        throttle_wait: float = 300.0, sleep=time.sleep,
    ):
        if not base_url:
            raise Failure("Set GATEHOUSE_URL (or --url) to the console's address, e.g. https://gatehouse.example.com.", exit_code=USAGE, code="no_url")
        if not token:
            raise Failure("Set GATEHOUSE_TOKEN (or --token) to a personal API token (gh_…) from the console's API tokens page.", exit_code=REFUSED, code="no_token")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Failure(f"GATEHOUSE_URL must be an http(s) address, not {base_url!r}.", exit_code=USAGE, code="bad_url")
        self.base_url = base_url.rstrip("/")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self._token = token
        headers = {"User-Agent": f"gatehouse-cli/{__version__}", "Accept": "application/json"}
        self.http = httpx.Client(timeout=timeout, headers=headers, transport=transport, follow_redirects=False)
        self.throttle_wait = throttle_wait
        self._sleep = sleep

    def close(self) -> None:
        self.http.close()

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else f"{self.base_url}/api/v1/{path.lstrip('/')}"

    def on_console(self, url: str) -> str:
        """An address the console answered (an upload's, the finalise one) on GATEHOUSE_URL's origin.

        Behind a proxy the console may name itself by another scheme or host;
        the path is its own, and the token goes only to the origin configured.
        """
        parts = urlsplit(url)
        return self.origin + parts.path + (f"?{parts.query}" if parts.query else "")

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        url = self.url(path)
        headers = dict(kwargs.pop("headers", None) or {})
        if urlsplit(url)._replace(path="", query="", fragment="").geturl() == self.origin:
            headers["Authorization"] = f"Bearer {self._token}"
        while True:
            try:
                response = self.http.request(method, url, headers=headers, **kwargs)
            except httpx.TimeoutException as exc:
                raise Failure(f"The console at {self.origin} did not answer in time ({type(exc).__name__}).", exit_code=NETWORK, code="timeout") from exc
            except httpx.TransportError as exc:
                raise Failure(f"Could not reach the console at {self.origin}: {exc}.", exit_code=NETWORK, code="unreachable") from exc
            wait = _retry_after(response) if response.status_code == 429 else None
            if wait is None or wait > self.throttle_wait:
                break
            self.throttle_wait -= wait
            self._sleep(wait)
        if response.status_code >= 400:
            raise _failure_from(response)
        if response.is_redirect:
            where = response.headers.get("Location", "elsewhere")
            raise Failure(
                f"The console sent {method} {response.request.url.path} to {where}; set GATEHOUSE_URL to the address it answers on.",
                exit_code=USAGE, code="redirected", status=response.status_code,
            )
        return response

    def get(self, path: str, **kwargs) -> dict:
        return self.request("GET", path, **kwargs).json()

    def post(self, path: str, json: dict | None = None) -> dict:
        response = self.request("POST", path, json=json if json is not None else {})
        return response.json() if response.content else {}

    def put_bytes(self, url: str, data: bytes) -> None:
        """One file: to the API (with the token) or to a presigned S3 address (without it, as it is)."""
        self.request("PUT", url, content=data, headers={"Content-Type": "application/octet-stream"})

    def pages(self, path: str, *, limit: int = 100):
        """Every result of a paginated list (limit/offset)."""
        offset = 0
        while True:
            body = self.get(path, params={"limit": limit, "offset": offset})
            results = body.get("results", [])
            yield from results
            offset += len(results)
            if not body.get("next") or not results:
                return
