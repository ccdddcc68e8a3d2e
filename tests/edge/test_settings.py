"""Settings of the edge function: where they come from and what is refused."""

import json

import pytest

from edge_runtime import settings as edge_settings
from edge_runtime.settings import EdgeSettings, SettingsError, get_settings, load_settings, settings_from_dict

DOC = {
    "config_bucket": "gatehouse-config",
    "config_prefix": "sites/",
    "config_region": "eu-west-1",
    "endpoint_url": None,
    "cache_ttl_seconds": 60,
    "stale_ttl_seconds": 3600,
    "missing_ttl_seconds": 15,
    "fetch_timeout_seconds": 1.0,
    "public_origin": None,
}


def write(tmp_path, doc, name="edge_settings.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    monkeypatch.delenv(edge_settings.ENV_VAR, raising=False)
    edge_settings.reset_settings_cache()
    yield
    edge_settings.reset_settings_cache()


def test_it_reads_the_documented_file(tmp_path):
    s = load_settings(write(tmp_path, DOC))
    assert s == EdgeSettings(
        config_bucket="gatehouse-config",
        config_prefix="sites/",
        config_region="eu-west-1",
        endpoint_url=None,
        cache_ttl_seconds=60.0,
        stale_ttl_seconds=3600.0,
        missing_ttl_seconds=15.0,
        fetch_timeout_seconds=1.0,
        public_origin=None,
    )


def test_settings_are_frozen(tmp_path):
    s = load_settings(write(tmp_path, DOC))
    with pytest.raises(AttributeError):
        s.config_bucket = "other"


def test_optional_keys_take_the_documented_defaults():
    s = settings_from_dict({"config_bucket": "b-1", "config_region": "us-east-1"})
    assert (s.config_prefix, s.cache_ttl_seconds, s.stale_ttl_seconds, s.missing_ttl_seconds) == ("sites/", 60, 3600, 15)
    assert s.fetch_timeout_seconds == 1.0 and s.endpoint_url is None and s.public_origin is None
    assert s.cache_max_bytes == 32 * 1024 * 1024


def test_the_path_argument_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(edge_settings.ENV_VAR, write(tmp_path, {**DOC, "config_bucket": "from-env"}, "env.json"))
    assert load_settings(write(tmp_path, DOC)).config_bucket == "gatehouse-config"
    assert load_settings().config_bucket == "from-env"


def test_without_path_or_environment_it_reads_the_file_in_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(edge_settings, "DEFAULT_PATH", write(tmp_path, {**DOC, "config_bucket": "baked"}))
    assert load_settings().config_bucket == "baked"


def test_a_missing_baked_file_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setattr(edge_settings, "DEFAULT_PATH", str(tmp_path / "nope.json"))
    with pytest.raises(SettingsError, match="GATEHOUSE_EDGE_SETTINGS"):
        load_settings()


def test_the_baked_file_sits_inside_the_package():
    assert edge_settings.DEFAULT_PATH.endswith("edge_runtime/edge_settings.json")


def test_get_settings_reads_once(tmp_path, monkeypatch):
    path = write(tmp_path, DOC)
    monkeypatch.setenv(edge_settings.ENV_VAR, path)
    first = get_settings()
    write(tmp_path, {**DOC, "config_bucket": "changed"})
    assert get_settings() is first
    edge_settings.reset_settings_cache()
    assert get_settings().config_bucket == "changed"


def test_it_refuses_invalid_json(tmp_path):
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings(write(tmp_path, "{nope"))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"config_bucket": "Upper_Case"}, "config_bucket"),
        ({"config_bucket": "ab"}, "config_bucket"),
        ({"config_bucket": 7}, "config_bucket"),
        ({"config_prefix": "/sites/"}, "config_prefix"),
        ({"config_region": "mars"}, "config_region"),
        ({"config_region": None}, "config_region"),
        ({"endpoint_url": "ftp://x"}, "endpoint_url"),
        ({"endpoint_url": "http://127.0.0.1:5000/path"}, "endpoint_url"),
        ({"endpoint_url": "http://user:pw@127.0.0.1:5000"}, "endpoint_url"),
        ({"cache_ttl_seconds": "60"}, "cache_ttl_seconds"),
        ({"cache_ttl_seconds": True}, "cache_ttl_seconds"),
        ({"cache_ttl_seconds": -1}, "cache_ttl_seconds"),
        ({"stale_ttl_seconds": 30}, "stale_ttl_seconds"),
        ({"missing_ttl_seconds": 10**6}, "missing_ttl_seconds"),
        ({"fetch_timeout_seconds": 0}, "fetch_timeout_seconds"),
        ({"fetch_timeout_seconds": 5}, "fetch_timeout_seconds"),
        ({"fetch_timeout_seconds": float("nan")}, "fetch_timeout_seconds"),
        ({"public_origin": {"scheme": "gopher"}}, "public_origin.scheme"),
        ({"public_origin": {"scheme": "http", "port": 70000}}, "public_origin.port"),
        ({"public_origin": {"scheme": "http", "host": "x"}}, "public_origin has unknown keys"),
        ({"cache_ttl": 5}, "unknown keys: cache_ttl"),
        ({"cache_max_bytes": 1000}, "cache_max_bytes"),
        ({"cache_max_bytes": 2.5e7}, "cache_max_bytes"),
        ({"cache_max_bytes": True}, "cache_max_bytes"),
    ],
)
def test_it_refuses_bad_values_naming_the_field(change, message):
    with pytest.raises(SettingsError) as info:
        settings_from_dict({**DOC, **change}, source="edge_settings.json")
    assert message in str(info.value)
    assert "edge_settings.json" in str(info.value)


def test_it_lists_every_problem_at_once():
    with pytest.raises(SettingsError) as info:
        settings_from_dict({**DOC, "config_region": "x", "cache_ttl_seconds": "y"})
    assert len(info.value.errors) == 2


def test_required_keys_are_required():
    with pytest.raises(SettingsError, match="missing keys: config_bucket, config_region"):
        settings_from_dict({})


def test_a_local_endpoint_and_public_origin_are_accepted():
    s = settings_from_dict({**DOC, "endpoint_url": "http://127.0.0.1:5000/", "public_origin": {"scheme": "http", "port": 8080}})
    assert s.endpoint_url == "http://127.0.0.1:5000"
    assert s.public_origin == {"scheme": "http", "port": 8080}
    assert settings_from_dict(s.to_dict()) == s
