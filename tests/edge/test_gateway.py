"""The local CloudFront stand-in, with an injected handler (the real one is
tested on its own) and, for --origin-s3, moto's S3 and CloudFront."""

import base64
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import boto3
import pytest

from edge_runtime import gateway
from edge_runtime.gateway import DirOrigin, S3Origin, make_server, parse_distribution
from edge_runtime.settings import settings_from_dict
from edge_runtime.store import ConfigStore
from tests.edge.site_docs import site_doc
from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DIST = "EDFDVBD6EXAMPLE"


def passthrough(event, context):
    return event["Records"][0]["cf"]["request"]


class Recorder:
    def __init__(self, result=passthrough):
        self.result = result
        self.events = []
        self.remaining = []

    def __call__(self, event, context):
        self.events.append(json.loads(json.dumps(event)))
        self.remaining.append(context.get_remaining_time_in_millis())
        return self.result(event, context) if callable(self.result) else self.result


@pytest.fixture
def origin_dir(tmp_path):
    root = tmp_path / "origin"
    (root / "builds" / "b1").mkdir(parents=True)
    (root / "builds" / "b1" / "index.html").write_text("<h1>Build one</h1>")
    (root / "builds" / "b1" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    return root


@pytest.fixture
def serve():
    servers = []

    def start(handler=None, origin=None):
        server = make_server(0, handler, origin=origin)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def request(port, method, target, headers=()):
    """Raw request: headers as (name, value) pairs, repeats allowed, nothing normalised."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
    names = {n.lower() for n, _ in headers}
    if "host" not in names:
        conn.putheader("Host", "demo.localhost:8080")
    for name, value in headers:
        conn.putheader(name, value)
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def test_the_event_has_the_documented_viewer_request_shape(serve, origin_dir):
    recorder = Recorder()
    port = serve(recorder, DirOrigin(origin_dir, DIST))
    request(
        port,
        "GET",
        "/builds/b1/index.html?code=abc&state=x%20y",
        [("Host", "demo.localhost:8080"), ("User-Agent", "curl/8"), ("Cookie", "a=1; b=2"), ("Cookie", "__Host-gh-session=s"), ("X-Multi", "one"), ("x-multi", "two")],
    )
    (event,) = recorder.events
    cf = event["Records"][0]["cf"]
    assert set(cf["config"]) == {"distributionDomainName", "distributionId", "eventType", "requestId"}
    assert cf["config"]["distributionId"] == DIST
    assert cf["config"]["eventType"] == "viewer-request"
    req = cf["request"]
    assert set(req) == {"clientIp", "headers", "method", "querystring", "uri"}
    assert req["clientIp"] == "127.0.0.1"
    assert req["method"] == "GET"
    assert req["uri"] == "/builds/b1/index.html"
    assert req["querystring"] == "code=abc&state=x%20y"
    assert req["headers"]["host"] == [{"key": "Host", "value": "demo.localhost:8080"}]
    assert req["headers"]["cookie"] == [{"key": "Cookie", "value": "a=1; b=2"}, {"key": "Cookie", "value": "__Host-gh-session=s"}]
    assert req["headers"]["x-multi"] == [{"key": "X-Multi", "value": "one"}, {"key": "x-multi", "value": "two"}]
    assert all(name == name.lower() for name in req["headers"])
    assert 4000 < recorder.remaining[0] <= 5000


def test_a_generated_response_is_sent_with_every_set_cookie(serve, origin_dir):
    result = {
        "status": "302",
        "statusDescription": "Found",
        "headers": {
            "location": [{"key": "Location", "value": "https://idp.example/authorize"}],
            "set-cookie": [{"key": "Set-Cookie", "value": "a=1; Secure"}, {"key": "Set-Cookie", "value": "b=2; HttpOnly"}],
        },
    }
    port = serve(Recorder(result), DirOrigin(origin_dir, DIST))
    response, body = request(port, "GET", "/")
    assert response.status == 302 and response.reason == "Found"
    assert response.msg.get_all("Set-Cookie") == ["a=1; Secure", "b=2; HttpOnly"]
    assert response.getheader("Location") == "https://idp.example/authorize"
    assert body == b""


def test_a_base64_body_is_decoded(serve, origin_dir):
    result = {"status": 200, "headers": {"content-type": [{"key": "Content-Type", "value": "image/gif"}]}, "body": base64.b64encode(b"GIF89a\x00\x01").decode(), "bodyEncoding": "base64"}
    port = serve(Recorder(result), DirOrigin(origin_dir, DIST))
    response, body = request(port, "GET", "/x.gif")
    assert body == b"GIF89a\x00\x01" and response.getheader("Content-Type") == "image/gif"


def test_a_text_body_and_head(serve, origin_dir):
    result = {"status": "404", "headers": {"content-type": [{"key": "Content-Type", "value": "text/html"}]}, "body": "<p>nope</p>"}
    port = serve(Recorder(result), DirOrigin(origin_dir, DIST))
    response, body = request(port, "GET", "/")
    assert (response.status, body) == (404, b"<p>nope</p>")
    response, body = request(port, "HEAD", "/")
    assert response.status == 404 and body == b"" and response.getheader("Content-Length") == "11"


def test_the_rewritten_request_is_served_from_the_origin_folder(serve, origin_dir):
    def rewrite(event, context):
        req = event["Records"][0]["cf"]["request"]
        req["uri"] = "/builds/b1" + ("/index.html" if req["uri"] == "/" else req["uri"])
        return req

    port = serve(Recorder(rewrite), DirOrigin(origin_dir, DIST))
    response, body = request(port, "GET", "/")
    assert response.status == 200 and body == b"<h1>Build one</h1>"
    assert response.getheader("Content-Type") == "text/html"
    assert response.getheader("ETag").startswith('"')
    response, body = request(port, "GET", "/app.js")
    assert body == b"console.log(1)"
    response, body = request(port, "HEAD", "/app.js")
    assert response.status == 200 and body == b"" and response.getheader("Content-Length") == "14"


def test_a_missing_object_is_s3s_no_such_key_as_for_a_distribution_that_may_list_the_bucket(serve, origin_dir):
    port = serve(Recorder(), DirOrigin(origin_dir, DIST))
    for target in ("/nope.html", "/builds/", "/builds/b1"):
        response, body = request(port, "GET", target)
        assert response.status == 404 and b"NoSuchKey" in body


@pytest.mark.parametrize("target", ["/../secret.txt", "/builds/../../secret.txt", "/%2e%2e/secret.txt", "/builds/%2E%2E/%2e%2e/secret.txt", "/..%5csecret.txt", "/a%00b", "/%ff"])
def test_path_traversal_is_refused(serve, origin_dir, target):
    port = serve(Recorder(), DirOrigin(origin_dir, DIST))
    response, body = request(port, "GET", target)
    assert response.status == 400
    assert b"TOP SECRET" not in body


def test_a_symlink_out_of_the_origin_is_refused(serve, origin_dir):
    os.symlink(origin_dir.parent / "secret.txt", origin_dir / "link.txt")
    port = serve(Recorder(), DirOrigin(origin_dir, DIST))
    response, body = request(port, "GET", "/link.txt")
    assert response.status == 400 and b"TOP SECRET" not in body


def test_a_failing_function_gives_503(serve, origin_dir):
    def boom(event, context):
        raise RuntimeError("bug")

    port = serve(boom, DirOrigin(origin_dir, DIST))
    response, _ = request(port, "GET", "/")
    assert response.status == 503


def test_changing_a_read_only_header_gives_502(serve, origin_dir):
    def change_host(event, context):
        req = event["Records"][0]["cf"]["request"]
        req["headers"]["host"] = [{"key": "Host", "value": "elsewhere.example"}]
        return req

    port = serve(change_host, DirOrigin(origin_dir, DIST))
    response, _ = request(port, "GET", "/")
    assert response.status == 502


def test_a_generated_response_over_40_kb_gives_502(serve, origin_dir):
    port = serve(Recorder({"status": "200", "body": "x" * 41000}), DirOrigin(origin_dir, DIST))
    response, _ = request(port, "GET", "/")
    assert response.status == 502


def test_the_log_has_one_line_per_request_without_query_or_cookies(serve, origin_dir, capsys):
    port = serve(Recorder(), DirOrigin(origin_dir, DIST))
    request(port, "GET", "/_gatehouse/callback?code=SECRETCODE&state=SECRETSTATE", [("Cookie", "__Host-gh-session=SECRETCOOKIE")])
    time.sleep(0.1)
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if '"gateway":"request"' in line]
    assert len(lines) == 1
    assert {k: lines[0][k] for k in ("method", "host", "path", "status")} == {"method": "GET", "host": "demo.localhost", "path": "/_gatehouse/callback", "status": 404}
    assert "SECRET" not in err


def test_without_an_injected_handler_it_imports_edge_runtime_handler_per_request(serve, origin_dir, monkeypatch):
    fake = types.ModuleType("edge_runtime.handler")
    fake.handler = lambda event, context: {"status": "418", "body": "teapot"}
    monkeypatch.setitem(sys.modules, "edge_runtime.handler", fake)
    port = serve(None, DirOrigin(origin_dir, DIST))
    assert request(port, "GET", "/")[0].status == 418
    fake.handler = lambda event, context: {"status": "204"}
    assert request(port, "GET", "/")[0].status == 204


def test_it_parses_an_s3_origin_from_get_distribution():
    xml = b"""<?xml version="1.0"?><Distribution xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>E1</Id>
    <DistributionConfig><DefaultRootObject>index.html</DefaultRootObject><Origins><Quantity>2</Quantity><Items>
    <Origin><Id>other</Id><DomainName>api.example.com</DomainName></Origin>
    <Origin><Id>site</Id><DomainName>site-bucket.s3.eu-west-1.amazonaws.com</DomainName></Origin></Items></Origins>
    <DefaultCacheBehavior><TargetOriginId>site</TargetOriginId></DefaultCacheBehavior></DistributionConfig></Distribution>"""
    assert parse_distribution(xml) == ("site-bucket", "eu-west-1", "index.html")
    legacy = xml.replace(b"site-bucket.s3.eu-west-1.amazonaws.com", b"site-bucket.s3.amazonaws.com")
    assert parse_distribution(legacy) == ("site-bucket", "us-east-1", "index.html")


# --- --origin-s3 against moto ----------------------------------------------


@pytest.fixture
def aws(moto_reset, aws_env):
    s3 = boto3.client("s3", endpoint_url=moto_reset.endpoint_url, region_name="us-east-1")
    cloudfront = boto3.client("cloudfront", endpoint_url=moto_reset.endpoint_url, region_name="us-east-1")
    return types.SimpleNamespace(s3=s3, cloudfront=cloudfront, endpoint_url=moto_reset.endpoint_url)


def create_distribution(cloudfront, bucket, **settings):
    origin_id = "site-origin"
    config = {
        "CallerReference": f"ref-{time.time()}",
        "Comment": "",
        "Enabled": True,
        "DefaultRootObject": "index.html",
        "Origins": {
            "Quantity": 1,
            "Items": [{"Id": origin_id, "DomainName": f"{bucket}.s3.us-east-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": origin_id,
            "ViewerProtocolPolicy": "redirect-to-https",
            "MinTTL": 0,
            "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            "TrustedSigners": {"Enabled": False, "Quantity": 0},
        },
    }
    config["DefaultCacheBehavior"].update(settings.pop("behaviour", {}))
    config.update(settings)
    return cloudfront.create_distribution(DistributionConfig=config)["Distribution"]["Id"]


def test_origin_s3_finds_the_bucket_through_config_and_distribution(serve, aws):
    aws.s3.create_bucket(Bucket="site-bucket")
    aws.s3.put_object(Bucket="site-bucket", Key="builds/b1/index.html", Body=b"<h1>From S3</h1>", ContentType="text/html", CacheControl="max-age=60")
    aws.s3.put_object(Bucket="site-bucket", Key="index.html", Body=b"root object")
    dist = create_distribution(aws.cloudfront, "site-bucket")
    aws.s3.create_bucket(Bucket="gatehouse-config")
    host = "demo.localhost"
    aws.s3.put_object(Bucket="gatehouse-config", Key=f"sites/{host}.json", Body=json.dumps(site_doc(host, distribution_id=dist)).encode())
    settings = settings_from_dict({"config_bucket": "gatehouse-config", "config_region": "us-east-1", "endpoint_url": aws.endpoint_url})
    recorder = Recorder()
    port = serve(recorder, S3Origin(settings, ConfigStore(settings)))

    response, body = request(port, "GET", "/builds/b1/index.html", [("Host", "demo.localhost:8080")])
    assert (response.status, body) == (200, b"<h1>From S3</h1>")
    assert response.getheader("Content-Type") == "text/html"
    assert response.getheader("Cache-Control") == "max-age=60"
    assert response.getheader("ETag")
    assert recorder.events[0]["Records"][0]["cf"]["config"]["distributionId"] == dist

    response, body = request(port, "HEAD", "/builds/b1/index.html", [("Host", "demo.localhost:8080")])
    assert response.status == 200 and body == b"" and response.getheader("Content-Length") == "16"
    assert request(port, "GET", "/", [("Host", "demo.localhost:8080")])[1] == b"root object"
    response, body = request(port, "GET", "/builds/b1/missing.html", [("Host", "demo.localhost:8080")])
    assert response.status == 404 and b"NoSuchKey" in body


# --- the command ------------------------------------------------------------



def test_the_command_runs_the_real_handler(tmp_path, origin_dir, aws):
    aws.s3.create_bucket(Bucket="gatehouse-config")
    settings = tmp_path / "edge_settings.json"
    settings.write_text(json.dumps({"config_bucket": "gatehouse-config", "config_region": "us-east-1", "endpoint_url": aws.endpoint_url}))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_runtime.gateway", "--port", str(port), "--settings", str(settings), "--origin-dir", str(origin_dir), "--distribution-id", DIST],
        cwd=ROOT,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert b"gateway listening" in proc.stdout.readline()
        # No config for this host: the real handler answers with its 404 page.
        response, _ = request(port, "GET", "/", [("Host", "nobody.localhost:8080")])
        assert response.status == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the distribution's own settings (issue 7, items 15 to 17) ----------------------

NOT_FOUND = {
    "Quantity": 1,
    "Items": [{"ErrorCode": 404, "ResponsePagePath": "/_gatehouse/not-found.html", "ResponseCode": "404", "ErrorCachingMinTTL": 10}],
}
SECURITY_POLICY = {"ResponseHeadersPolicyId": "67f7725c-6f97-4210-82d7-5512b31e9d03"}


@pytest.fixture
def s3_site(serve, aws):
    """A gateway over a moto bucket whose distribution has the console's settings."""

    def start(*, error_responses=NOT_FOUND, behaviour=SECURITY_POLICY, handler=None):
        aws.s3.create_bucket(Bucket="site-bucket")
        aws.s3.put_object(Bucket="site-bucket", Key="builds/b1/index.html", Body=b"<h1>Build one</h1>", ContentType="text/html", CacheControl="no-cache")
        extra = {"CustomErrorResponses": error_responses} if error_responses else {}
        dist = create_distribution(aws.cloudfront, "site-bucket", behaviour=behaviour, **extra)
        aws.s3.create_bucket(Bucket="gatehouse-config")
        host = "demo.localhost"
        aws.s3.put_object(Bucket="gatehouse-config", Key=f"sites/{host}.json", Body=json.dumps(site_doc(host, distribution_id=dist)).encode())
        settings = settings_from_dict({"config_bucket": "gatehouse-config", "config_region": "us-east-1", "endpoint_url": aws.endpoint_url})
        recorder = handler or Recorder()
        start.recorder = recorder
        return serve(recorder, S3Origin(settings, ConfigStore(settings)))

    return start


def test_a_missing_object_gets_the_distributions_error_page_without_running_the_function(s3_site, aws):
    port = s3_site()
    aws.s3.put_object(Bucket="site-bucket", Key="_gatehouse/not-found.html", Body=b"<h1>Lost</h1>", ContentType="text/html; charset=utf-8")
    response, body = request(port, "GET", "/builds/b1/missing.html")
    assert (response.status, body) == (404, b"<h1>Lost</h1>")
    assert response.getheader("Content-Type") == "text/html; charset=utf-8"
    # The function ran for the viewer's request only, never for the error page.
    assert [e["Records"][0]["cf"]["request"]["uri"] for e in s3_site.recorder.events] == ["/builds/b1/missing.html"]


def test_without_the_error_page_object_the_origins_answer_about_the_page_is_sent(s3_site):
    port = s3_site()
    response, body = request(port, "GET", "/builds/b1/missing.html")
    assert response.status == 404 and b"NoSuchKey" in body


def test_without_custom_error_responses_s3s_error_is_sent_as_it_is(s3_site, aws):
    port = s3_site(error_responses=None)
    aws.s3.put_object(Bucket="site-bucket", Key="_gatehouse/not-found.html", Body=b"<h1>Lost</h1>")
    response, body = request(port, "GET", "/builds/b1/missing.html")
    assert response.status == 404 and b"NoSuchKey" in body


def test_the_managed_security_headers_policy_is_added_to_origin_responses(s3_site, aws):
    port = s3_site()
    response, _ = request(port, "GET", "/builds/b1/index.html")
    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=31536000"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "SAMEORIGIN"
    assert response.getheader("Referrer-Policy") == "strict-origin-when-cross-origin"
    assert response.getheader("X-XSS-Protection") == "1; mode=block"
    aws.s3.put_object(Bucket="site-bucket", Key="_gatehouse/not-found.html", Body=b"<h1>Lost</h1>")
    response, _ = request(port, "GET", "/builds/b1/missing.html")
    assert response.status == 404 and response.getheader("X-Frame-Options") == "SAMEORIGIN"


def test_without_a_headers_policy_origin_responses_are_left_alone(s3_site):
    port = s3_site(behaviour={})
    response, _ = request(port, "GET", "/builds/b1/index.html")
    assert response.status == 200 and response.getheader("X-Frame-Options") is None


def test_the_stored_cache_control_is_served_and_a_matching_etag_gets_304(s3_site):
    port = s3_site()
    response, _ = request(port, "GET", "/builds/b1/index.html")
    assert response.getheader("Cache-Control") == "no-cache"
    etag = response.getheader("ETag")
    response, body = request(port, "GET", "/builds/b1/index.html", [("If-None-Match", etag)])
    assert (response.status, body) == (304, b"")
    assert response.getheader("ETag") == etag and response.getheader("Cache-Control") == "no-cache"
    response, body = request(port, "GET", "/builds/b1/index.html", [("If-None-Match", '"another"')])
    assert (response.status, body) == (200, b"<h1>Build one</h1>")


def test_the_edges_own_generated_pages_get_no_policy_headers_or_error_page(aws, s3_site):
    # The edge sets its own security headers on the pages it generates.
    port = s3_site(handler=Recorder({"status": "404", "body": "no such site"}))
    aws.s3.put_object(Bucket="site-bucket", Key="_gatehouse/not-found.html", Body=b"<h1>Lost</h1>")
    response, body = request(port, "GET", "/x")
    assert (response.status, body) == (404, b"no such site")
    assert response.getheader("X-Frame-Options") is None


def _post(port, target, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", target, body=body, headers={"Host": "demo.localhost:8080", "Content-Type": "application/x-www-form-urlencoded"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_a_body_under_gatehouse_reaches_the_function_as_the_include_body_behaviour_sends_it(serve, origin_dir):
    recorder = Recorder({"status": "200", "headers": {}, "body": "ok"})
    port = serve(recorder, DirOrigin(origin_dir, DIST))
    _post(port, "/_gatehouse/sign-in", b"address=ann%40client.example&t=x")
    body = recorder.events[0]["Records"][0]["cf"]["request"]["body"]
    assert body == {
        "inputTruncated": False,
        "action": "read-only",
        "encoding": "base64",
        "data": base64.b64encode(b"address=ann%40client.example&t=x").decode(),
    }


def test_a_body_over_40_kb_is_cut_and_marked_truncated(serve, origin_dir):
    recorder = Recorder({"status": "200", "headers": {}, "body": "ok"})
    port = serve(recorder, DirOrigin(origin_dir, DIST))
    _post(port, "/_gatehouse/sign-in", b"a" * (41 * 1024))
    body = recorder.events[0]["Records"][0]["cf"]["request"]["body"]
    assert body["inputTruncated"] is True and len(base64.b64decode(body["data"])) == 40 * 1024


def test_a_body_outside_gatehouse_never_reaches_the_function(serve, origin_dir):
    recorder = Recorder({"status": "200", "headers": {}, "body": "ok"})
    port = serve(recorder, DirOrigin(origin_dir, DIST))
    _post(port, "/api/orders", b"x=1")
    assert "body" not in recorder.events[0]["Records"][0]["cf"]["request"]
