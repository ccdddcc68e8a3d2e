"""A local stand-in for CloudFront in front of the edge function.

    python -m edge_runtime.gateway --port 8080 [--settings FILE]
        (--origin-dir DIR --distribution-id ID | --origin-s3)

Each HTTP request becomes the documented Lambda@Edge viewer-request event
(every header, repeated ones included, lower-case keys to lists of
``{key, value}``), ``edge_runtime.handler.handler(event, context)`` runs, and
then either the generated response is sent or the (possibly rewritten)
request is served from the origin:

``--origin-dir DIR``
    files under DIR, with ``--distribution-id`` as the event's distribution;
``--origin-s3``
    per host: its config (through the same ConfigStore) names the
    distribution, CloudFront's GetDistribution on the settings' endpoint
    names the S3 origin's bucket and default root object, and the object is
    fetched from that bucket with SigV4.

A missing object answers 404 NoSuchKey, as S3 does to a distribution that
may list the bucket (the console's bucket policy grants it), and any other
refusal 403 AccessDenied. With ``--origin-s3`` the distribution's own
settings apply as CloudFront applies them: its ``CustomErrorResponses``
(an origin error with a listed code is answered with the page at
``ResponsePagePath``, fetched from the origin without running the function,
and ``ResponseCode``), and the security headers of AWS's managed
SecurityHeadersPolicy when the default cache behaviour names it; a response
the function generates is sent as it made it (it carries its own headers).
A request whose ``If-None-Match`` matches the object's ETag gets 304. Like
CloudFront, a handler that raises or runs past 5 s gives 503, and an invalid
result (a changed read-only header, a generated response over 40 KB) gives
502. A request body reaches the function only under ``/_gatehouse/``, as
the console's ``/_gatehouse/*`` cache behaviour sets ``IncludeBody`` there
(base64, cut to 40 KB with ``inputTruncated`` as CloudFront does at viewer
request); elsewhere it is read and dropped, as the default behaviour has
no include-body option.

One log line per request: method, host, path, status; never query strings or
cookies. With ``--logs-region`` the function's own output also goes to
CloudWatch Logs as Lambda@Edge delivers it (edge_runtime/log_shipping.py).
Not part of the deployment zip.
"""

import argparse
import base64
import hashlib
import http.client
import importlib
import json
import mimetypes
import os
import re
import secrets
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from . import log_shipping, sigv4
from .store import ConfigUnavailable, http_get, s3_object_url

FUNCTION_TIMEOUT_MS = 5000
MAX_GENERATED_BYTES = 40 * 1024
MAX_REQUEST_BODY = 1024 * 1024
READ_ONLY_HEADERS = ("host", "content-length", "transfer-encoding", "via")
# Lambda@Edge's include-body limit at viewer request, and where it is on.
MAX_INCLUDED_BODY = 40 * 1024
INCLUDE_BODY_PREFIX = "/_gatehouse/"
DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
UNKNOWN_DISTRIBUTION = "EGATEHOUSELOCAL"
DISTRIBUTION_CACHE_SECONDS = 5.0
CLOUDFRONT_API = "https://cloudfront.amazonaws.com"
CHUNK = 64 * 1024
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
)
NO_SUCH_KEY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b"<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>"
)
# AWS's managed response headers policy "SecurityHeadersPolicy" (CloudFront
# Developer Guide, "Use managed response headers policies"): its id, and each
# header with whether it overrides one the origin sent.
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"
SECURITY_HEADERS = (
    ("Referrer-Policy", "strict-origin-when-cross-origin", False),
    ("Strict-Transport-Security", "max-age=31536000", False),
    ("X-Content-Type-Options", "nosniff", True),
    ("X-Frame-Options", "SAMEORIGIN", False),
    ("X-XSS-Protection", "1; mode=block", False),
)


class LambdaContext:
    """The parts of Lambda's context object a handler may use."""

    function_name = "gatehouse-edge"
    function_version = "1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gatehouse-edge:1"
    memory_limit_in_mb = 128
    log_group_name = "/aws/lambda/us-east-1.gatehouse-edge"

    def __init__(self, request_id, *, timeout_ms=FUNCTION_TIMEOUT_MS, clock=time.monotonic):
        self.aws_request_id = request_id
        self.log_stream_name = time.strftime("%Y/%m/%d/[1]") + request_id[:32]
        self._clock = clock
        self._deadline = clock() + timeout_ms / 1000

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - self._clock()) * 1000))


def build_event(*, method, uri, querystring, headers, client_ip, distribution_id, request_id, distribution_domain=DISTRIBUTION_DOMAIN):
    """The viewer-request event for `headers`, a list of (name, value) in arrival order."""
    grouped = {}
    for name, value in headers:
        grouped.setdefault(name.lower(), []).append({"key": name, "value": value})
    return {
        "Records": [
            {
                "cf": {
                    "config": {
                        "distributionDomainName": distribution_domain,
                        "distributionId": distribution_id,
                        "eventType": "viewer-request",
                        "requestId": request_id,
                    },
                    "request": {
                        "clientIp": client_ip,
                        "headers": grouped,
                        "method": method,
                        "querystring": querystring,
                        "uri": uri,
                    },
                }
            }
        ]
    }


class OriginResponse:
    def __init__(self, status, headers=(), body=b"", length=None, close=None):
        self.status = status
        self.headers = list(headers)
        self.body = body  # bytes, or an iterable of byte chunks
        self.length = len(body) if isinstance(body, bytes) else length
        self.close = close or (lambda: None)


def access_denied():
    return OriginResponse(403, [("Content-Type", "application/xml")], ACCESS_DENIED)


def no_such_key():
    return OriginResponse(404, [("Content-Type", "application/xml")], NO_SUCH_KEY)


class Behaviour:
    """What a distribution does to origin responses: error pages and a headers policy."""

    def __init__(self, error_responses=None, headers_policy_id=None):
        # ErrorCode -> (ResponsePagePath, ResponseCode or None)
        self.error_responses = dict(error_responses or {})
        self.headers_policy_id = headers_policy_id


def with_policy_headers(response, behaviour):
    """`response` with the headers of the behaviour's response headers policy, as CloudFront adds them."""
    if behaviour is None or behaviour.headers_policy_id != SECURITY_HEADERS_POLICY_ID:
        return response
    present = {name.lower() for name, _ in response.headers}
    for name, value, override in SECURITY_HEADERS:
        if name.lower() in present:
            if not override:
                continue
            response.headers = [(n, v) for n, v in response.headers if n.lower() != name.lower()]
        response.headers.append((name, value))
    return response


class PathRefused(Exception):
    pass


def origin_key(uri):
    """The object key for a request URI, or PathRefused for anything that
    could leave the origin (dot segments, backslashes, NULs)."""
    if not isinstance(uri, str) or not uri.startswith("/"):
        raise PathRefused("the uri must start with '/'")
    try:
        key = unquote(uri[1:], errors="strict")
    except UnicodeDecodeError:
        raise PathRefused("the path is not UTF-8") from None
    if "\x00" in key or "\\" in key:
        raise PathRefused("NUL or backslash in the path")
    if any(segment in (".", "..") for segment in key.split("/")):
        raise PathRefused("dot segment in the path")
    return key


class DirOrigin:
    """Objects are files under `root`; the distribution id is fixed."""

    def __init__(self, root, distribution_id):
        self.root = Path(root).resolve()
        self._distribution_id = distribution_id

    def distribution_id(self, host):
        return self._distribution_id

    def behaviour(self, distribution_id):
        # No distribution settings to read: no error pages, no headers policy.
        return Behaviour()

    def fetch(self, host, uri, distribution_id):
        key = origin_key(uri)
        if not key or "//" in key or key.endswith("/"):
            return no_such_key()
        path = (self.root / key).resolve()
        # A symlink inside the folder must not lead out of it either.
        if not path.is_relative_to(self.root):
            raise PathRefused("outside the origin folder")
        if not path.is_file():
            return no_such_key()
        data = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "binary/octet-stream"
        etag = '"%s"' % hashlib.md5(data, usedforsecurity=False).hexdigest()
        return OriginResponse(200, [("Content-Type", content_type), ("ETag", etag)], data)


_S3_DOMAIN = re.compile(r"(?P<bucket>[a-z0-9][a-z0-9.-]+?)\.s3(?:[.-](?P<region>[a-z]{2}(?:-[a-z0-9]+)+-\d+))?\.amazonaws\.com\Z")


class S3Origin:
    """Objects from the S3 bucket behind each site's distribution."""

    def __init__(self, settings, store, *, credentials=None, clock=time.monotonic):
        self.settings = settings
        self.store = store
        self.credentials = credentials
        self.clock = clock
        self.endpoint = settings.endpoint_url or CLOUDFRONT_API
        self._distributions = {}
        self._lock = threading.Lock()

    def _credentials(self):
        return self.credentials or sigv4.credentials_from_env()

    def distribution_id(self, host):
        try:
            cfg = self.store.get(host)
        except ConfigUnavailable:
            return None
        return cfg.distribution_id if cfg is not None else None

    def _get_distribution(self, distribution_id):
        now = self.clock()
        with self._lock:
            cached = self._distributions.get(distribution_id)
            if cached and now - cached[0] < DISTRIBUTION_CACHE_SECONDS:
                return cached[1]
        url = f"{self.endpoint}/2020-05-31/distribution/{quote(distribution_id, safe='')}"
        headers = sigv4.sign("GET", url, region="us-east-1", service="cloudfront", credentials=self._credentials())
        status, body = http_get(url, headers, timeout=5)
        if status != 200:
            raise LookupError(f"GetDistribution answered {status}")
        info = (parse_distribution(body), parse_behaviour(body))
        with self._lock:
            self._distributions[distribution_id] = (now, info)
        return info

    def distribution(self, distribution_id):
        """(bucket, region, default root object) of the distribution's S3 origin."""
        return self._get_distribution(distribution_id)[0]

    def behaviour(self, distribution_id):
        """The distribution's error responses and response headers policy."""
        if not distribution_id:
            return Behaviour()
        return self._get_distribution(distribution_id)[1]

    def fetch(self, host, uri, distribution_id):
        if not distribution_id:
            raise LookupError("the site's config names no distribution")
        bucket, region, root_object = self.distribution(distribution_id)
        key = origin_key(uri)
        if not key and root_object:
            key = root_object
        if not key:
            return no_such_key()
        url = s3_object_url(bucket, key, region, self.settings.endpoint_url)
        headers = sigv4.sign("GET", url, region=region, service="s3", credentials=self._credentials())
        parts = urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = cls(parts.hostname, parts.port, timeout=10)
        connection.request("GET", parts.path, headers=headers)
        response = connection.getresponse()
        if response.status in (403, 404):
            response.read()
            connection.close()
            return no_such_key() if response.status == 404 else access_denied()
        if response.status != 200:
            response.read()
            connection.close()
            raise LookupError(f"S3 answered {response.status}")
        passed = [
            (name, response.getheader(name))
            for name in ("Content-Type", "ETag", "Cache-Control", "Last-Modified", "Content-Encoding")
            if response.getheader(name)
        ]
        length = response.getheader("Content-Length")

        def chunks():
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    return
                yield chunk

        return OriginResponse(200, passed, chunks(), int(length) if length else None, close=connection.close)


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def parse_distribution(xml_bytes):
    """(bucket, region, default root object) from a GetDistribution answer."""
    root = ET.fromstring(xml_bytes)
    config = next((el for el in root.iter() if _local(el.tag) == "DistributionConfig"), root)

    def child(el, name):
        return next((c for c in el if _local(c.tag) == name), None)

    def text(el, name):
        found = child(el, name) if el is not None else None
        return (found.text or "").strip() if found is not None else ""

    target = text(child(config, "DefaultCacheBehavior"), "TargetOriginId")
    origins = [el for el in config.iter() if _local(el.tag) == "Origin"]
    if not origins:
        raise LookupError("the distribution has no origin")
    origin = next((o for o in origins if text(o, "Id") == target), origins[0])
    domain = text(origin, "DomainName")
    match = _S3_DOMAIN.match(domain)
    if not match:
        raise LookupError(f"the origin {domain!r} is not an S3 bucket")
    return match["bucket"], match["region"] or "us-east-1", text(config, "DefaultRootObject")


def parse_behaviour(xml_bytes):
    """The Behaviour (custom error responses, response headers policy) of a GetDistribution answer."""
    root = ET.fromstring(xml_bytes)
    config = next((el for el in root.iter() if _local(el.tag) == "DistributionConfig"), root)
    error_responses = {}
    policy = None
    for el in config:
        if _local(el.tag) == "DefaultCacheBehavior":
            found = next((c for c in el if _local(c.tag) == "ResponseHeadersPolicyId"), None)
            policy = (found.text or "").strip() or None if found is not None else None
    for item in config.iter():
        if _local(item.tag) != "CustomErrorResponse":
            continue
        fields = {_local(c.tag): (c.text or "").strip() for c in item}
        if not fields.get("ErrorCode", "").isdigit():
            continue
        page = fields.get("ResponsePagePath") or None
        code = fields.get("ResponseCode") or ""
        error_responses[int(fields["ErrorCode"])] = (page, int(code) if code.isdigit() else None)
    return Behaviour(error_responses, policy)


def _error_page(status, title, detail):
    body = (
        f"<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\">\n<html><head><title>{status} {title}</title></head>"
        f"<body><h1>{status} ERROR</h1><h2>The request could not be satisfied.</h2><p>{detail}</p>"
        "<hr noshade size=\"1px\"><p>Generated by the Gatehouse local gateway (CloudFront stand-in)</p></body></html>"
    ).encode()
    return OriginResponse(status, [("Content-Type", "text/html")], body)


def log(**fields):
    sys.stderr.write(json.dumps({"gateway": "request", **fields}, separators=(",", ":")) + "\n")
    sys.stderr.flush()


def _load_handler():
    # Per request, so the handler module can be written (and fixed) while
    # the gateway's own code stays importable on its own.
    return importlib.import_module("edge_runtime.handler").handler


class InvalidResult(Exception):
    pass


def generated_response(result):
    """An OriginResponse from a generated response, or InvalidResult."""
    try:
        status = int(result["status"])
    except (TypeError, ValueError):
        raise InvalidResult("status is not a number") from None
    if not 100 <= status <= 599:
        raise InvalidResult("status out of range")
    headers = []
    size = 0
    for name, entries in (result.get("headers") or {}).items():
        if not isinstance(entries, list):
            raise InvalidResult(f"header {name!r} is not a list")
        for entry in entries:
            value = entry.get("value") if isinstance(entry, dict) else None
            if not isinstance(value, str) or "\n" in value or "\r" in value:
                raise InvalidResult(f"header {name!r} has an invalid value")
            key = entry.get("key") or name
            if key.lower() != name.lower():
                raise InvalidResult(f"header key {key!r} does not match {name!r}")
            if name.lower() in ("content-length", "transfer-encoding"):
                continue
            headers.append((key, value))
            size += len(key) + len(value)
    body = result.get("body") or ""
    if result.get("bodyEncoding") == "base64":
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidResult("body is not base64") from None
    else:
        data = body.encode() if isinstance(body, str) else None
        if data is None:
            raise InvalidResult("body is not a string")
    size += len(data)
    if size > MAX_GENERATED_BYTES:
        raise InvalidResult(f"generated response is {size} bytes, over 40 KB")
    response = OriginResponse(status, headers, data)
    response.reason = result.get("statusDescription")
    return response


class GatewayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CloudFront"
    sys_version = ""

    def log_message(self, format, *args):
        # The default line holds the request line, query string included.
        pass

    def do_GET(self):
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

    def _serve(self):
        started = time.monotonic()
        host_header = self.headers.get("Host", "")
        path_for_log = self.path.split("?", 1)[0][:200]
        try:
            response = self._respond()
        except Exception as exc:  # noqa: BLE001 - a stand-in must not die on one request
            sys.stderr.write(json.dumps({"gateway": "error", "kind": type(exc).__name__, "detail": str(exc)[:200]}) + "\n")
            response = _error_page(502, "Bad Gateway", "The origin could not be reached.")
        try:
            self._send(response)
        finally:
            response.close()
        log(
            method=self.command,
            host=host_header.partition(":")[0].lower()[:253],
            path=path_for_log,
            status=response.status,
            ms=int((time.monotonic() - started) * 1000),
        )

    def _read_body(self):
        self._body = b""
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            return False
        length = self.headers.get("Content-Length")
        if length:
            if not length.isdigit() or int(length) > MAX_REQUEST_BODY:
                self.close_connection = True
                return False
            self._body = self.rfile.read(int(length))
        return True

    def _respond(self):
        if not self._read_body():
            return _error_page(413, "Request Entity Too Large", "This request body is not supported.")
        target = self.path
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        uri, _, querystring = target.partition("?")
        host = self.headers.get("Host")
        if not uri.startswith("/") or not host:
            return _error_page(400, "Bad Request", "The request is missing a host or a path.")
        server = self.server
        origin_host = host.partition(":")[0].lower()
        distribution_id = server.origin.distribution_id(origin_host) or UNKNOWN_DISTRIBUTION
        request_id = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
        event = build_event(
            method=self.command,
            uri=uri,
            querystring=querystring,
            headers=list(self.headers.items()),
            client_ip=self.client_address[0],
            distribution_id=distribution_id,
            request_id=request_id,
        )
        if self._body and uri.startswith(INCLUDE_BODY_PREFIX):
            event["Records"][0]["cf"]["request"]["body"] = {
                "inputTruncated": len(self._body) > MAX_INCLUDED_BODY,
                "action": "read-only",
                "encoding": "base64",
                "data": base64.b64encode(self._body[:MAX_INCLUDED_BODY]).decode("ascii"),
            }
        original = {name: list(event["Records"][0]["cf"]["request"]["headers"].get(name, [])) for name in READ_ONLY_HEADERS}
        original = json.loads(json.dumps(original))
        context = LambdaContext(request_id)
        handler = server.edge_handler or _load_handler()
        began = time.monotonic()
        try:
            if server.log_shipper is None:
                result = handler(event, context)
            else:
                with log_shipping.capture() as lines:
                    try:
                        result = handler(event, context)
                    finally:
                        server.log_shipper.request_done(request_id, lines, (time.monotonic() - began) * 1000)
        except Exception as exc:  # noqa: BLE001 - CloudFront answers 503 to a failing function
            sys.stderr.write(json.dumps({"gateway": "function_error", "kind": type(exc).__name__}) + "\n")
            return _error_page(503, "Service Unavailable", "The Lambda function associated with the CloudFront distribution is invalid or doesn't have the required permissions.")
        if (time.monotonic() - began) * 1000 > FUNCTION_TIMEOUT_MS:
            return _error_page(503, "Service Unavailable", "The Lambda function ran past its 5 second timeout.")
        try:
            if not isinstance(result, dict):
                raise InvalidResult("the function returned no object")
            if "status" in result:
                response = generated_response(result)
                response.headers.append(("X-Cache", "LambdaGeneratedResponse from cloudfront"))
                return response
            headers = result.get("headers") or {}
            for name in READ_ONLY_HEADERS:
                if json.loads(json.dumps(headers.get(name, []))) != original[name]:
                    raise InvalidResult(f"the function changed the read-only header {name!r}")
            request_uri = result.get("uri")
        except InvalidResult as exc:
            sys.stderr.write(json.dumps({"gateway": "validation_error", "detail": str(exc)}) + "\n")
            return _error_page(502, "Bad Gateway", "The Lambda function returned an invalid response.")
        if self.command not in ("GET", "HEAD"):
            return access_denied()
        try:
            response = server.origin.fetch(origin_host, request_uri, distribution_id)
        except PathRefused:
            return _error_page(400, "Bad Request", "This path is not valid.")
        behaviour = server.origin.behaviour(distribution_id)
        if response.status >= 400:
            response = self._custom_error(response, behaviour, origin_host, distribution_id)
        elif response.status == 200 and _not_modified(self.headers.get("If-None-Match"), response):
            response.close()
            kept = [(n, v) for n, v in response.headers if n.lower() in ("etag", "cache-control", "last-modified")]
            response = OriginResponse(304, kept, b"")
        return with_policy_headers(response, behaviour)

    def _custom_error(self, response, behaviour, host, distribution_id):
        """CloudFront's custom error response: the page is fetched from the origin, no function runs."""
        page_path, code = behaviour.error_responses.get(response.status, (None, None))
        if not page_path:
            return response
        response.close()
        try:
            page = self.server.origin.fetch(host, page_path, distribution_id)
        except PathRefused:
            return response
        if page.status != 200:
            # CloudFront then answers with what the origin said about the page.
            return page
        page.status = code or response.status
        return page

    def _send(self, response):
        self.send_response(response.status, getattr(response, "reason", None))
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status == 304:
            pass  # no body, and no length: it would describe the unchanged object
        elif response.length is not None:
            self.send_header("Content-Length", str(response.length))
        else:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.send_header("Via", "1.1 local.cloudfront.net (CloudFront)")
        self.end_headers()
        if self.command == "HEAD" or response.status == 304:
            return
        if isinstance(response.body, bytes):
            self.wfile.write(response.body)
        else:
            for chunk in response.body:
                self.wfile.write(chunk)


def _not_modified(if_none_match, response):
    if not if_none_match:
        return False
    etag = next((v for n, v in response.headers if n.lower() == "etag"), None)
    if not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 13.1.2), as for GET.
    strip = lambda tag: tag.strip().removeprefix("W/")  # noqa: E731
    return strip(etag) in {strip(tag) for tag in if_none_match.split(",")}


def make_server(port, handler=None, *, origin, host="127.0.0.1", log_shipper=None):
    """A ThreadingHTTPServer on `host:port` (0: any free port); call
    serve_forever() on it. `handler` replaces edge_runtime.handler.handler
    (tests); `origin` is a DirOrigin or S3Origin; `log_shipper` (a
    log_shipping.Shipper) sends each invocation's output to CloudWatch Logs."""
    server = ThreadingHTTPServer((host, port), GatewayHandler)
    server.daemon_threads = True
    server.edge_handler = handler
    server.origin = origin
    server.log_shipper = log_shipper
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m edge_runtime.gateway", description="Local CloudFront stand-in for the edge function.")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--settings", help="edge settings file (default: $GATEHOUSE_EDGE_SETTINGS)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--origin-dir", help="serve objects from this folder")
    mode.add_argument("--origin-s3", action="store_true", help="serve objects from each site's distribution's S3 bucket")
    parser.add_argument("--distribution-id", help="the distribution id in events (with --origin-dir)")
    parser.add_argument(
        "--logs-region",
        default=os.environ.get("GATEHOUSE_GATEWAY_LOGS_REGION") or None,
        help="send the function's output to CloudWatch Logs in this region, as Lambda@Edge does "
        "(the settings' endpoint; default $GATEHOUSE_GATEWAY_LOGS_REGION, unset: not sent)",
    )
    parser.add_argument("--function-name", default=LambdaContext.function_name, help="the edge function's name (its log group)")
    args = parser.parse_args(argv)

    from .settings import ENV_VAR, SettingsError, load_settings, reset_settings_cache

    if args.settings:
        # The handler reads its settings through get_settings(): point it at the same file.
        os.environ[ENV_VAR] = os.path.abspath(args.settings)
        reset_settings_cache()
    try:
        settings = load_settings()
    except SettingsError as exc:
        parser.exit(2, f"error: {exc}\n")
    if args.origin_dir:
        if not args.distribution_id:
            parser.error("--origin-dir needs --distribution-id")
        if not os.path.isdir(args.origin_dir):
            parser.error(f"--origin-dir {args.origin_dir!r} is not a folder")
        origin = DirOrigin(args.origin_dir, args.distribution_id)
    else:
        from .store import ConfigStore

        origin = S3Origin(settings, ConfigStore(settings))
    shipper = None
    if args.logs_region:
        client = log_shipping.LogsClient(region=args.logs_region, endpoint_url=settings.endpoint_url)
        shipper = log_shipping.Shipper(client, function_name=args.function_name)
    server = make_server(args.port, origin=origin, log_shipper=shipper)
    print(f"gateway listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
