"""The local gateway's stand-in for Lambda's log delivery (not in the zip).

Lambda@Edge sends what the function writes to standard output to CloudWatch
Logs in the region where the copy ran, in the group
``/aws/lambda/us-east-1.<function name>``, one stream per function instance
(``YYYY/MM/DD/[version]<instance id>``), framed by Lambda's own START, END
and REPORT lines. The gateway does the same against the settings' endpoint
(moto locally), so the console's collector reads production's shape.

Standard library only: SigV4 from sigv4.py, the CloudWatch Logs JSON API
(``X-Amz-Target: Logs_20140328.*``) over http.client.
"""

import http.client
import json
import os
import queue
import sys
import threading
import time
from urllib.parse import urlsplit

from . import sigv4

EDGE_HOME_REGION = "us-east-1"
TARGET_PREFIX = "Logs_20140328."
BATCH_MAX_EVENTS = 500
BATCH_WAIT_SECONDS = 0.2


def edge_log_group(function_name):
    return f"/aws/lambda/{EDGE_HOME_REGION}.{function_name}"


class _Capture(threading.local):
    lines = None


_capture = _Capture()


class _TeeStdout:
    """sys.stdout that also hands the current request's lines to its capture."""

    def __init__(self, real):
        self._real = real

    def write(self, text):
        lines = _capture.lines
        if lines is not None:
            lines.append(text)
        return self._real.write(text)

    def flush(self):
        self._real.flush()

    def __getattr__(self, name):
        return getattr(self._real, name)


def install_stdout_tee():
    if not isinstance(sys.stdout, _TeeStdout):
        sys.stdout = _TeeStdout(sys.stdout)


class capture:
    """`with capture() as lines:` collects what this thread writes to stdout."""

    def __enter__(self):
        # Checked each time: whoever replaced sys.stdout since (a test runner) is wrapped too.
        install_stdout_tee()
        self.lines = []
        _capture.lines = self.lines
        return self.lines

    def __exit__(self, *exc):
        _capture.lines = None
        return False


class LogsClient:
    """The three CloudWatch Logs calls the shipper makes."""

    def __init__(self, *, region, endpoint_url=None, credentials=None, timeout=5):
        self.region = region
        self.url = endpoint_url or f"https://logs.{region}.amazonaws.com"
        self.credentials = credentials
        self.timeout = timeout

    def call(self, action, body):
        payload = json.dumps(body).encode()
        headers = {"content-type": "application/x-amz-json-1.1", "x-amz-target": TARGET_PREFIX + action}
        credentials = self.credentials or sigv4.credentials_from_env()
        url = self.url.rstrip("/") + "/"
        signed = sigv4.sign("POST", url, region=self.region, service="logs", credentials=credentials, headers=headers, payload=payload)
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = cls(parts.hostname, parts.port, timeout=self.timeout)
        try:
            connection.request("POST", parts.path or "/", body=payload, headers=signed)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        answer = json.loads(data) if data else {}
        if response.status != 200:
            code = str(answer.get("__type", "")).rpartition("#")[2] or str(response.status)
            raise LogsError(code, answer.get("message") or answer.get("Message") or "")
        return answer


class LogsError(Exception):
    def __init__(self, code, message=""):
        super().__init__(f"{code}: {message}"[:300])
        self.code = code


class Shipper:
    """Sends each request's lines, Lambda-framed, from a background thread."""

    def __init__(self, client, *, function_name, version="1", clock=time.time):
        self.client = client
        self.group = edge_log_group(function_name)
        self.version = version
        self.clock = clock
        self.instance = os.urandom(16).hex()
        self._queue = queue.Queue()
        self._ready = set()
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._thread.start()

    def stream_name(self, now):
        return time.strftime("%Y/%m/%d/", time.gmtime(now)) + f"[{self.version}]" + self.instance

    def request_done(self, request_id, lines, duration_ms):
        """Queue one invocation's log: START, what it wrote, END, REPORT."""
        now = self.clock()
        ms = int(now * 1000)
        messages = [f"START RequestId: {request_id} Version: {self.version}"]
        for chunk in lines:
            messages.extend(line for line in chunk.splitlines() if line.strip())
        messages.append(f"END RequestId: {request_id}")
        messages.append(f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tMemory Size: 128 MB")
        self._idle.clear()
        self._queue.put((self.stream_name(now), [{"timestamp": ms, "message": m} for m in messages]))

    def flush(self, timeout=10):
        """Wait until everything queued so far was sent (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.02)
        return False

    def _run(self):
        while True:
            stream, events = self._queue.get()
            self._idle.clear()
            time.sleep(BATCH_WAIT_SECONDS)
            batches = {stream: events}
            while not self._queue.empty():
                more_stream, more = self._queue.get_nowait()
                batches.setdefault(more_stream, []).extend(more)
            for name, batch in batches.items():
                self._send(name, batch)
            if self._queue.empty():
                self._idle.set()

    def _ensure(self, stream):
        if stream in self._ready:
            return
        for action, body in (
            ("CreateLogGroup", {"logGroupName": self.group}),
            ("CreateLogStream", {"logGroupName": self.group, "logStreamName": stream}),
        ):
            try:
                self.client.call(action, body)
            except LogsError as exc:
                if exc.code != "ResourceAlreadyExistsException":
                    raise
        self._ready.add(stream)

    def _send(self, stream, events):
        try:
            self._ensure(stream)
            for start in range(0, len(events), BATCH_MAX_EVENTS):
                self.client.call(
                    "PutLogEvents",
                    {"logGroupName": self.group, "logStreamName": stream, "logEvents": events[start:start + BATCH_MAX_EVENTS]},
                )
        except (OSError, LogsError, sigv4.SigV4Error, ValueError) as exc:
            # Lost lines are lost, as when Lambda cannot write: the gateway goes on.
            sys.stderr.write(json.dumps({"gateway": "log_shipping_failed", "detail": str(exc)[:200]}) + "\n")
