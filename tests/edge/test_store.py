"""ConfigStore against moto's S3 server: caching, staleness, missing sites."""

import json
import socket

import boto3
import pytest

from edge_runtime import store as store_module
from edge_runtime.settings import settings_from_dict
from edge_runtime.store import ConfigStore, ConfigUnavailable, normalise_host, s3_object_url
from tests.edge.site_docs import site_doc

BUCKET = "gatehouse-config-store"
HOST = "demo.example.com"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def dead_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def s3(moto_reset, aws_env):
    client = boto3.client("s3", endpoint_url=moto_reset.endpoint_url, region_name="eu-west-1")
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return client


def put(s3, host, doc=None, body=None):
    body = body if body is not None else json.dumps(doc or site_doc(host)).encode()
    s3.put_object(Bucket=BUCKET, Key=f"sites/{host}.json", Body=body)


@pytest.fixture
def settings(moto_reset):
    return settings_from_dict(
        {
            "config_bucket": BUCKET,
            "config_prefix": "sites/",
            "config_region": "eu-west-1",
            "endpoint_url": moto_reset.endpoint_url,
            "cache_ttl_seconds": 60,
            "stale_ttl_seconds": 600,
            "missing_ttl_seconds": 15,
            "fetch_timeout_seconds": 1,
        }
    )


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(settings, clock, aws_env):
    return ConfigStore(settings, clock=clock)


def point_at_dead_s3(store):
    dead = settings_from_dict({**store.settings.to_dict(), "endpoint_url": dead_endpoint()})
    store.fetcher.settings = dead


def test_it_reads_a_config_from_s3(s3, store):
    put(s3, HOST)
    cfg = store.get(HOST)
    assert cfg.site_id == "store-test" and cfg.hosts == (HOST,)
    assert store.fetch_count == 1


def test_a_cache_hit_makes_no_s3_call(s3, store, clock):
    put(s3, HOST)
    first = store.get(HOST)
    clock.advance(59)
    assert store.get(HOST) is first
    assert store.get("DEMO.example.com:8080") is first
    assert store.fetch_count == 1


def test_after_the_ttl_it_fetches_again_and_sees_changes(s3, store, clock):
    put(s3, HOST)
    store.get(HOST)
    put(s3, HOST, site_doc(HOST, site_id="changed"))
    clock.advance(60)
    assert store.get(HOST).site_id == "changed"
    assert store.fetch_count == 2


def test_a_missing_config_is_cached_as_missing(s3, store, clock):
    assert store.get("nobody.example.com") is None
    clock.advance(14)
    assert store.get("nobody.example.com") is None
    assert store.fetch_count == 1
    put(s3, "nobody.example.com")
    clock.advance(1)
    assert store.get("nobody.example.com").hosts == ("nobody.example.com",)
    assert store.fetch_count == 2


def test_a_missing_bucket_counts_as_no_config(store):
    assert store.get(HOST) is None


@pytest.mark.parametrize(
    "host",
    ["", "..", "a..b", "-a.example", "a_b.example", "demo.example.com/../x", "demo example", "a" * 64 + ".com", "[::1]:8080", "x:y", None, 7],
)
def test_invalid_host_names_are_never_fetched(s3, store, host):
    assert store.get(host) is None
    assert store.fetch_count == 0


def test_hosts_are_lower_cased_without_port():
    assert normalise_host("Demo.Example.COM:8443") == "demo.example.com"
    assert normalise_host("demo.localhost") == "demo.localhost"


def test_when_s3_is_down_it_serves_the_stale_config_up_to_the_bound(s3, store, clock, capsys):
    put(s3, HOST)
    good = store.get(HOST)
    point_at_dead_s3(store)
    clock.advance(61)
    assert store.get(HOST) is good
    assert store.fetch_count == 2
    # Within the retry pause nothing is fetched.
    clock.advance(0.5)
    assert store.get(HOST) is good
    assert store.fetch_count == 2
    clock.advance(600 - 61.5)  # exactly at the bound: still served
    assert store.get(HOST) is good
    clock.advance(1)
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["gatehouse"] == "config_fetch_failed" and line["host"] == HOST
    assert line["serving_stale"] is False


def test_with_nothing_cached_and_s3_down_it_is_unavailable(settings, clock, aws_env):
    dead = settings_from_dict({**settings.to_dict(), "endpoint_url": dead_endpoint()})
    store = ConfigStore(dead, clock=clock)
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    # Nor does it hammer S3 while it is down.
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    assert store.fetch_count == 1
    clock.advance(1)
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    assert store.fetch_count == 2


def test_an_invalid_config_keeps_the_last_good_one(s3, store, clock, capsys):
    put(s3, HOST)
    good = store.get(HOST)
    broken = site_doc(HOST)
    broken["session"]["current_kid"] = "nope"
    put(s3, HOST, broken)
    clock.advance(60)
    assert store.get(HOST) is good
    put(s3, HOST, body=b"{not json")
    clock.advance(60)
    assert store.get(HOST) is good
    err = capsys.readouterr().err
    assert "invalid_config" in err and "not_json" in err
    assert "not-a-real-secret" not in err and "authorization" not in err.lower()


def test_an_invalid_config_with_nothing_cached_is_unavailable(s3, store):
    put(s3, HOST, body=b"[]")
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)


@pytest.mark.parametrize("status", [500, 503, 400])
def test_server_errors_serve_stale(status, settings, clock):
    responses = [(200, json.dumps(site_doc(HOST)).encode()), (status, b"<Error/>")]
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: responses.pop(0))
    good = store.get(HOST)
    clock.advance(61)
    assert store.get(HOST) is good


def test_forbidden_is_treated_as_missing(settings, clock):
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: (403, b"<Error><Code>AccessDenied</Code></Error>"))
    assert store.get(HOST) is None
    assert store.get(HOST) is None
    assert store.fetch_count == 1


def test_the_fetcher_is_asked_for_the_prefixed_key(settings, clock):
    keys = []
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: keys.append(key) or (404, b""))
    store.get("Demo.Example.com")
    assert keys == ["sites/demo.example.com.json"]


def test_it_signs_for_the_bucket_region_not_the_lambda_region(settings, monkeypatch, aws_env):
    monkeypatch.setenv("AWS_REGION", "ap-northeast-1")
    seen = {}

    def fake_get(url, headers, timeout, max_bytes=None):
        seen.update(url=url, headers=headers, timeout=timeout)
        return 404, b""

    monkeypatch.setattr(store_module, "http_get", fake_get)
    ConfigStore(settings).get(HOST)
    assert "/eu-west-1/s3/aws4_request" in seen["headers"]["authorization"]
    assert seen["url"] == f"{settings.endpoint_url}/{BUCKET}/sites/{HOST}.json"
    assert seen["timeout"] == 1.0


def test_it_sends_the_session_token_of_temporary_credentials(settings, monkeypatch, aws_env):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "temporary-token")
    seen = {}
    monkeypatch.setattr(store_module, "http_get", lambda url, headers, timeout: seen.update(headers) or (404, b""))
    ConfigStore(settings).get(HOST)
    assert seen["x-amz-security-token"] == "temporary-token"


def test_object_urls():
    assert s3_object_url("cfg", "sites/a.example.json", "eu-west-1") == "https://cfg.s3.eu-west-1.amazonaws.com/sites/a.example.json"
    assert s3_object_url("cfg.dotted", "k", "eu-west-1") == "https://s3.eu-west-1.amazonaws.com/cfg.dotted/k"
    assert s3_object_url("cfg", "a b/é", "us-east-1", "http://127.0.0.1:5000/") == "http://127.0.0.1:5000/cfg/a%20b/%C3%A9"


def test_concurrent_misses_fetch_once(settings, clock):
    import threading
    import time

    def slow(key):
        time.sleep(0.2)
        return 200, json.dumps(site_doc(HOST)).encode()

    store = ConfigStore(settings, clock=clock, fetcher=slow)
    results = []
    threads = [threading.Thread(target=lambda: results.append(store.get(HOST))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.fetch_count == 1
    assert len({id(r) for r in results}) == 1
