"""ConfigStore against moto's S3 server: caching, staleness, missing sites."""

import json
import socket
import sys

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


def s3_error(code):
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>User: arn:aws:sts::123456789012:assumed-role/gatehouse-edge/x is not authorized</Message><RequestId>R</RequestId></Error>'.encode()


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "AccessDenied"),  # IAM, the bucket policy, or kms:Decrypt on the config key
        (403, "InvalidAccessKeyId"),
        (403, "SignatureDoesNotMatch"),
        (400, "KMS.DisabledException"),
        (400, "KMS.NotFoundException"),
        (403, None),  # a 403 without an error document is still a denial
    ],
)
def test_a_denied_read_serves_the_last_good_config_and_logs_the_s3_error(status, code, settings, clock, capsys):
    responses = [(200, json.dumps(site_doc(HOST)).encode()), (status, s3_error(code) if code else b"")]
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: responses.pop(0))
    good = store.get(HOST)
    clock.advance(61)
    assert store.get(HOST) is good
    (line,) = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    assert line == {
        "gatehouse": "config_access_denied",
        "level": "error",
        "host": HOST,
        "key": f"sites/{HOST}.json",
        "elapsed_ms": 0,
        "stale_age": 61.0,
        "serving_stale": True,
        "reason": "s3_denied",
        "status": status,
        "s3_error": code,
    }


def test_a_denied_read_with_nothing_cached_is_unavailable_never_missing(settings, clock, capsys):
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: (403, s3_error("AccessDenied")))
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    # Within the retry pause it is not asked again.
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    assert store.fetch_count == 1
    err = capsys.readouterr().err
    assert '"s3_error":"AccessDenied"' in err and "arn:aws" not in err


def test_other_s3_errors_log_their_code(settings, clock, capsys):
    responses = [(200, json.dumps(site_doc(HOST)).encode()), (503, s3_error("SlowDown"))]
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: responses.pop(0))
    good = store.get(HOST)
    clock.advance(61)
    assert store.get(HOST) is good
    line = json.loads(capsys.readouterr().err)
    assert line["gatehouse"] == "config_fetch_failed" and line["s3_error"] == "SlowDown" and line["status"] == 503


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


class _Discard:
    def write(self, text):
        return len(text)

    def flush(self):
        pass


def table_bytes(store):
    """What the store's per-host tables hold: each dict with its keys and values."""
    total = 0
    for table in (store._entries, store._failed_at, store._host_locks):
        total += sys.getsizeof(table) + sum(sys.getsizeof(k) + sys.getsizeof(v) for k, v in table.items())
    return total


def outage_with_random_hosts(store, clock, count, seed=7):
    """`count` made-up host names during an S3 outage, 1 ms apart."""
    import random

    rng = random.Random(seed)
    for _ in range(count):
        clock.advance(0.001)
        try:
            store.get(f"{rng.getrandbits(64):016x}.example.com")
        except ConfigUnavailable:
            pass
        else:  # pragma: no cover
            raise AssertionError("S3 is down: nothing can be served")


def test_an_outage_with_random_host_names_keeps_every_per_host_table_bounded(settings, clock, monkeypatch):
    # One log line per failed fetch is the point of an outage log; here the
    # lines go nowhere so that only the store's memory is measured.
    monkeypatch.setattr(sys, "stderr", _Discard())

    def down(key):
        raise OSError("connection refused")

    store = ConfigStore(settings, clock=clock, fetcher=down)
    empty = table_bytes(store)
    outage_with_random_hosts(store, clock, 100_000)
    assert len(store._failed_at) <= store_module.MAX_ENTRIES
    assert len(store._host_locks) == 0  # a lock lives only while a fetch is in flight
    assert len(store._entries) == 0
    # At most 1,000 failure records: about 0.15 MB, where the unbounded
    # tables held 100,000 records and 100,000 locks (about 20 MB).
    assert table_bytes(store) - empty < 250_000, table_bytes(store) - empty
    # Hosts still get their retry pause: a repeat within it is not fetched.
    fetches = store.fetch_count
    last = next(reversed(store._failed_at))
    with pytest.raises(ConfigUnavailable):
        store.get(last)
    assert store.fetch_count == fetches


def test_the_per_host_lock_is_dropped_after_a_fetch_even_when_it_fails(settings, clock):
    calls = []

    def flaky(key):
        calls.append(key)
        if len(calls) == 1:
            raise OSError("reset")
        return 404, b""

    store = ConfigStore(settings, clock=clock, fetcher=flaky)
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    assert store._host_locks == {}
    clock.advance(1)
    assert store.get(HOST) is None
    assert store._host_locks == {}


# The config cache is bounded by bytes, least recently used first.


def _body_template():
    """A config body of about the size a real site's has (two RSA keys: 14 KB parsed)."""
    import base64

    doc = site_doc("HOST.example")
    doc["provider"]["jwks"] = {
        "keys": [
            {"kty": "RSA", "kid": f"r{i}", "alg": "RS256", "use": "sig", "e": "AQAB",
             "n": base64.urlsafe_b64encode(bytes([i + 1]) * 256).rstrip(b"=").decode()}
            for i in range(2)
        ]
    }  # fmt: skip
    doc["provider"]["id_token_algs"] = ["RS256"]
    return json.dumps(doc).encode()


def budget_store(settings, clock, budget):
    template = _body_template()
    limited = settings_from_dict({**settings.to_dict(), "cache_max_bytes": budget})
    fetched = []

    def fetcher(key):
        host = key.removeprefix("sites/").removesuffix(".json")
        fetched.append(host)
        return 200, template.replace(b"HOST.example", host.encode())

    return ConfigStore(limited, clock=clock, fetcher=fetcher), fetched


def test_ten_thousand_hosts_stay_within_the_cache_budget_and_a_hot_host_stays_cached(settings, clock):
    # Fails on main: the cache had no budget (cache_max_bytes is refused as
    # an unknown setting) and held every valid config, 14 KB each.
    import gc
    import tracemalloc

    budget = 4 * 1024 * 1024
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        store, fetched = budget_store(settings, clock, budget)
        for i in range(10_000):
            assert store.get(f"site-{i}.example.com").hosts == (f"site-{i}.example.com",)
            if i % 10 == 0:
                assert store.get("hot.example.com").site_id == "store-test"
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # What tracemalloc sees the store hold, not only what it thinks it holds.
    assert held <= budget, held
    assert store.cached_bytes <= budget
    # The budget is used, not just respected: most of 4 MiB holds configs.
    assert held > budget * 0.8 and len(store._entries) > 200
    assert fetched.count("hot.example.com") == 1


def test_the_least_recently_used_config_is_evicted_first(settings, clock):
    store, fetched = budget_store(settings, clock, 1024 * 1024)
    store.get("h-0.example.com")
    fits = store.settings.cache_max_bytes // store.cached_bytes
    for i in range(1, fits):
        store.get(f"h-{i}.example.com")
    assert len(store._entries) == fits  # all of them fit
    store.get("h-0.example.com")  # a hit: h-0 is now the most recently used
    store.get("new.example.com")  # over the budget by one
    assert "h-0.example.com" in store._entries and "h-1.example.com" not in store._entries
    fetches = len(fetched)
    store.get("h-0.example.com")
    assert len(fetched) == fetches
    store.get("h-1.example.com")  # evicted: fetched again
    assert fetched[-1] == "h-1.example.com"
    assert store.cached_bytes <= store.settings.cache_max_bytes


def test_a_refetched_config_is_charged_once(settings, clock):
    store, _ = budget_store(settings, clock, 1024 * 1024)
    store.get(HOST)
    charged = store.cached_bytes
    for _ in range(5):
        clock.advance(61)
        store.get(HOST)
    assert store.cached_bytes == charged and len(store._entries) == 1


def test_a_flood_of_hosts_without_a_config_never_evicts_a_valid_one(settings, clock):
    good = json.dumps(site_doc(HOST)).encode()
    store = ConfigStore(settings, clock=clock, fetcher=lambda key: (200, good) if key == f"sites/{HOST}.json" else (404, b""))
    cfg = store.get(HOST)
    for i in range(5_000):
        assert store.get(f"nobody-{i}.example.com") is None
    assert len(store._missing) <= store_module.MAX_ENTRIES
    assert store.get(HOST) is cfg and store.fetch_count == 5_001
    # The newest hosts without a config are still remembered as missing.
    assert store.get("nobody-4999.example.com") is None and store.fetch_count == 5_001


def test_a_config_evicted_before_an_outage_has_no_stale_copy(settings, clock, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Discard())
    store, fetched = budget_store(settings, clock, 1024 * 1024)
    store.get("old.example.com")
    kept = store.get("kept.example.com")
    i = 0
    while "old.example.com" in store._entries:
        store.get(f"filler-{i}.example.com")
        store.get("kept.example.com")
        i += 1

    def down(key):
        raise OSError("connection refused")

    store.fetcher = down
    clock.advance(61)
    assert store.get("kept.example.com") is kept  # stale while S3 is down
    with pytest.raises(ConfigUnavailable):
        store.get("old.example.com")
