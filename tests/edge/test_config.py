"""The per-site config contract: edge_runtime.config.validate and parse."""

import base64
import calendar

import pytest

from edge_runtime import config
from edge_runtime.config import ConfigError
from tests.edge.factories import DELETE, KEY_A, KEY_B, SESSION_KEYS, config_doc, site_config


# HS256 id_tokens are keyed with the client secret, so it must be 32 bytes or more.
HS256_SECRET = "s" * 32


def errors_of(doc, **kwargs):
    with pytest.raises(ConfigError) as info:
        config.validate(doc, **kwargs)
    assert info.value.errors, "a ConfigError must list its problems"
    assert str(info.value) == "; ".join(info.value.errors)
    return info.value.errors


def assert_refused(doc, field):
    errors = errors_of(doc)
    assert any(e.startswith(field) for e in errors), f"no error names {field!r}: {errors}"
    # parse refuses exactly what validate refuses
    with pytest.raises(ConfigError):
        config.parse(doc)


def full_doc():
    """The documented example, every optional feature switched on."""
    return config_doc(
        site={
            "hosts": ["demo.acme.example", "d111111abcdef8.cloudfront.net"],
            "build": {"id": "b7", "prefix": "builds/b7"},
            "spa": True,
        },
        provider={
            "issuer": "https://acme.eu.auth0.com/",
            "authorization_endpoint": "https://acme.eu.auth0.com/authorize",
            "token_endpoint": "https://acme.eu.auth0.com/oauth/token",
            "userinfo_endpoint": "https://acme.eu.auth0.com/userinfo",
            "end_session_endpoint": "https://acme.eu.auth0.com/v2/logout",
            "end_session_redirect_param": "returnTo",
            "jwks_uri": "https://acme.eu.auth0.com/.well-known/jwks.json",
            "client_id": "abc123",
            "client_secret": HS256_SECRET,
            "token_endpoint_auth_method": "client_secret_post",
            "scopes": ["openid", "email", "profile"],
            "authorize_params": {"audience": "https://api.acme.example"},
            "jwks": {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]},
            "id_token_algs": ["RS256", "ES256", "HS256"],
            "tenant_id": "tenant-1",
        },
        session={"lifetime_seconds": 3600, "current_kid": "s2", "keys": dict(SESSION_KEYS)},
        access={
            "allow_any_user": False,
            "emails": ["ann@client.example"],
            "email_domains": ["consultancy.example"],
            "groups_claim": "groups",
            "groups": ["demo-viewers"],
            "not_before": "2026-01-01T00:00:00Z",
            "not_after": "2026-12-31T23:59:59Z",
        },
        paths={"public": ["/favicon.ico", "/assets/public/"]},
        headers={
            "strict-transport-security": "max-age=63072000; includeSubDomains",
            "x-content-type-options": "nosniff",
            "x-frame-options": "DENY",
            "referrer-policy": "no-referrer",
            "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        },
    )


# --- valid documents ------------------------------------------------------------


def test_the_factory_default_validates():
    config.validate(config_doc())


def test_the_factory_returns_a_fresh_document_every_time():
    first = config_doc()
    first["access"]["emails"].append("x@y.example")
    assert config_doc()["access"]["emails"] == ["ann@client.example"]


def test_the_factory_merges_a_section_override_and_keeps_the_rest():
    doc = config_doc(access={"emails": ["bob@client.example"]}, provider={"tenant_id": DELETE})
    assert doc["access"]["emails"] == ["bob@client.example"]
    assert doc["access"]["email_domains"] == ["consultancy.example"]
    assert "tenant_id" not in doc["provider"]


def test_a_full_document_validates_and_parses():
    doc = full_doc()
    config.validate(doc)
    config.validate(doc, schema_version=config.CURRENT_SCHEMA_VERSION)
    cfg = config.parse(doc)
    assert cfg.doc is doc
    assert cfg.site_id == "acme-demo"
    assert cfg.hosts == ("demo.acme.example", "d111111abcdef8.cloudfront.net")
    assert cfg.distribution_id == "EDFDVBD6EXAMPLE"
    assert cfg.disabled is False
    assert cfg.build_id == "b7"
    assert cfg.build_prefix == "/builds/b7"
    assert cfg.spa is True
    assert cfg.issuer == "https://acme.eu.auth0.com/"
    assert cfg.end_session_redirect_param == "returnTo"
    assert cfg.client_id == "abc123"
    assert cfg.client_secret == HS256_SECRET
    assert cfg.auth_method == "client_secret_post"
    assert cfg.scope == "openid email profile"
    assert cfg.authorize_params == {"audience": "https://api.acme.example"}
    assert cfg.authorize_params is not doc["provider"]["authorize_params"]
    assert cfg.id_token_algs == frozenset({"RS256", "ES256", "HS256"})
    assert cfg.tenant_id == "tenant-1"
    assert cfg.session_lifetime == 3600
    assert cfg.current_kid == "s2"
    assert cfg.session_keys == {"s1": bytes(range(32)), "s2": bytes(range(100, 132))}
    assert cfg.allow_any_user is False
    assert cfg.emails == frozenset({"ann@client.example"})
    assert cfg.email_domains == frozenset({"consultancy.example"})
    assert isinstance(cfg.emails, frozenset) and isinstance(cfg.groups, frozenset)
    assert cfg.groups_claim == "groups"
    assert cfg.groups == frozenset({"demo-viewers"})
    assert cfg.not_before == calendar.timegm((2026, 1, 1, 0, 0, 0)) == 1767225600
    assert cfg.not_after == calendar.timegm((2026, 12, 31, 23, 59, 59)) == 1798761599
    assert cfg.public_paths == ("/favicon.ico", "/assets/public/")
    assert cfg.callback_path == "/_gatehouse/callback"
    assert cfg.sign_out_path == "/_gatehouse/sign-out"
    assert cfg.needs_email is True
    assert cfg.derived == {}


def test_parsed_headers_have_cloudfronts_shape():
    cfg = config.parse(full_doc())
    assert cfg.headers["strict-transport-security"] == [
        {"key": "Strict-Transport-Security", "value": "max-age=63072000; includeSubDomains"}
    ]
    assert cfg.headers["content-security-policy"] == [
        {"key": "Content-Security-Policy", "value": "default-src 'none'; frame-ancestors 'none'"}
    ]
    for name, entries in cfg.headers.items():
        assert name == name.lower()
        assert isinstance(entries, list) and len(entries) == 1
        assert set(entries[0]) == {"key", "value"}
        assert entries[0]["key"].lower() == name


def test_null_build_serves_the_bucket_root():
    cfg = site_config(site={"build": None})
    assert cfg.build_prefix == "" and cfg.build_id is None


def test_the_end_session_redirect_param_defaults_to_openids():
    cfg = site_config()
    assert cfg.end_session_redirect_param == "post_logout_redirect_uri"


def test_null_bounds_and_no_email_rules_parse():
    cfg = site_config(access={"emails": [], "email_domains": [], "allow_any_user": True})
    assert cfg.not_before is None and cfg.not_after is None
    assert cfg.needs_email is False


def test_the_access_window_is_inclusive_of_its_bounds():
    cfg = site_config(access={"not_before": "2026-01-01T00:00:00Z", "not_after": "2026-01-02T00:00:00Z"})
    assert not cfg.in_access_window(cfg.not_before - 1)
    assert cfg.in_access_window(cfg.not_before)
    assert cfg.in_access_window(cfg.not_after)
    assert not cfg.in_access_window(cfg.not_after + 1)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/authorize",
        "http://localhost:8080/authorize",
        "http://127.0.0.1:9000/o/authorize",
        "http://idp.localhost/authorize",
        "http://a.b.localhost:3000/authorize",
        "https://idp.example:8443/authorize",
    ],
)
def test_it_accepts_https_and_local_http_provider_urls(url):
    config.validate(config_doc(provider={"authorization_endpoint": url, "issuer": url}))


def test_the_none_auth_method_needs_no_secret():
    config.validate(config_doc(provider={"token_endpoint_auth_method": "none", "client_secret": None}))


@pytest.mark.parametrize("key", ["userinfo_endpoint", "end_session_endpoint", "jwks_uri"])
def test_optional_provider_urls_may_be_null(key):
    config.validate(config_doc(provider={key: None}))


def test_the_session_key_may_be_longer_than_32_bytes():
    key = base64.urlsafe_b64encode(bytes(64)).rstrip(b"=").decode()
    config.validate(config_doc(session={"keys": {"s1": key}}))


def test_it_lists_every_problem_not_just_the_first():
    errors = errors_of(config_doc(site={"id": ""}, provider={"scopes": ["email"]}, session={"lifetime_seconds": 1}))
    fields = {e.split(":")[0] for e in errors}
    assert {"site.id", "provider.scopes", "session.lifetime_seconds"} <= fields


# --- schema version -------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 4, 99, "1", 1.5, None, True, False, [1]])
def test_it_refuses_an_unknown_or_mistyped_schema_version(version):
    assert_refused(config_doc(schema_version=version), "schema_version")


def test_it_refuses_a_document_without_a_schema_version():
    assert_refused(config_doc(schema_version=DELETE), "schema_version")


def test_a_bool_is_not_taken_for_version_1():
    # True == 1 in Python; the contract means the JSON number 1.
    assert True in config.SCHEMA_VERSIONS
    assert_refused(config_doc(schema_version=True), "schema_version")


def test_pinning_a_schema_version_the_runtime_reads_accepts_that_version():
    config.validate(config_doc(), schema_version=config.CURRENT_SCHEMA_VERSION)


@pytest.mark.parametrize("pinned", [4, 0, "1", 1.5, True])
def test_pinning_a_schema_version_the_runtime_cannot_read_is_refused(pinned):
    errors = errors_of(config_doc(), schema_version=pinned)
    assert errors[0].startswith("schema_version")


def test_a_document_of_another_version_than_the_pinned_one_is_refused():
    config.validate(config_doc(schema_version=2))
    errors = errors_of(config_doc(schema_version=2), schema_version=1)
    assert errors[0].startswith("schema_version")
    errors = errors_of(config_doc(schema_version=1), schema_version=2)
    assert errors[0].startswith("schema_version")


def test_a_field_of_a_later_version_is_refused_in_an_older_document(monkeypatch):
    monkeypatch.setattr(config, "FIELDS_SINCE", {"site": {"spa": 2}})
    config.validate(config_doc(schema_version=2))
    assert errors_of(config_doc(schema_version=1)) == ["site.spa: needs schema version 2 or later"]


def test_rendering_for_an_older_version_drops_the_fields_it_cannot_read(monkeypatch):
    monkeypatch.setattr(config, "FIELDS_SINCE", {"site.build": {"prefix": 2}, "paths": {"sign_out": 2}})
    doc = config_doc(schema_version=2)
    old = config.for_schema(doc, 1)
    assert old["schema_version"] == 1
    assert "prefix" not in old["site"]["build"] and "sign_out" not in old["paths"]
    assert doc["site"]["build"]["prefix"] == "builds/b7"  # the original is untouched
    assert config.for_schema(doc, 2) == doc


def test_rendering_for_a_version_the_runtime_cannot_read_is_refused():
    with pytest.raises(config.ConfigError):
        config.for_schema(config_doc(), 4)


@pytest.mark.parametrize("doc", [None, [], "{}", 1])
def test_it_refuses_a_document_that_is_not_an_object(doc):
    assert errors_of(doc)[0].startswith("config")


# --- structure --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field"),
    [
        (None, "extra"),
        ("site", "owner"),
        ("provider", "client_secrets"),
        ("session", "key"),
        ("access", "allow_all"),
        ("paths", "private"),
    ],
)
def test_it_refuses_unknown_fields(section, field):
    doc = config_doc()
    (doc if section is None else doc[section])[field] = 1
    where = "config" if section is None else section
    assert_refused(doc, f"{where}.{field}")


@pytest.mark.parametrize("section", ["site", "provider", "session", "access", "paths", "headers"])
def test_it_refuses_a_missing_section(section):
    assert_refused(config_doc(**{section: DELETE}), f"config.{section}")


@pytest.mark.parametrize("section", ["site", "provider", "session", "access", "paths", "headers"])
@pytest.mark.parametrize("value", [None, [], "x"])
def test_it_refuses_a_section_that_is_not_an_object(section, value):
    assert_refused(config_doc(**{section: value}), section)


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("site", "id"),
        ("site", "hosts"),
        ("site", "distribution_id"),
        ("site", "disabled"),
        ("site", "build"),
        ("site", "spa"),
        ("provider", "issuer"),
        ("provider", "token_endpoint"),
        ("provider", "userinfo_endpoint"),
        ("provider", "client_secret"),
        ("provider", "jwks"),
        ("provider", "tenant_id"),
        ("session", "keys"),
        ("session", "current_kid"),
        ("access", "not_after"),
        ("access", "groups_claim"),
        ("paths", "callback"),
        ("paths", "public"),
    ],
)
def test_it_refuses_a_missing_required_field(section, field):
    assert_refused(config_doc(**{section: {field: DELETE}}), f"{section}.{field}")


# --- site -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "a" * 65, "acme demo", "acme/demo", "ácme", None, 7])
def test_it_refuses_a_bad_site_id(value):
    assert_refused(config_doc(site={"id": value}), "site.id")


@pytest.mark.parametrize(
    "hosts",
    [
        [],
        ["demo.example.com:443"],
        ["Demo.Example.com"],
        ["DEMO.EXAMPLE.COM"],
        [""],
        ["demo..example.com"],
        ["demo.example.com."],
        ["-demo.example.com"],
        ["demo-.example.com"],
        ["demo_1.example.com"],
        ["https://demo.example.com"],
        ["demo.example.com/path"],
        ["démo.example.com"],
        ["demo.example.com\n"],
        [" demo.example.com"],
        ["a" * 64 + ".example.com"],
        [("a" * 60 + ".") * 5 + "com"],
        ["demo.example.com", "demo.example.com"],
        "demo.example.com",
        None,
        [7],
    ],
)
def test_it_refuses_bad_host_names(hosts):
    assert_refused(config_doc(site={"hosts": hosts}), "site.hosts")


@pytest.mark.parametrize("value", ["edfdvbd6example", "EDF-1", "", "E" * 33, 12, True])
def test_it_refuses_a_bad_distribution_id(value):
    assert_refused(config_doc(site={"distribution_id": value}), "site.distribution_id")


def test_a_null_distribution_id_is_allowed_before_provisioning():
    config.validate(config_doc(site={"distribution_id": None}))


@pytest.mark.parametrize("field", ["disabled", "spa"])
@pytest.mark.parametrize("value", [0, 1, "false", None])
def test_it_refuses_non_boolean_flags(field, value):
    assert_refused(config_doc(site={field: value}), f"site.{field}")


@pytest.mark.parametrize(
    "prefix",
    [
        "/builds/b7",
        "builds/b7/",
        "builds/../b6",
        "..",
        "builds/./b7",
        "builds//b7",
        "",
        "builds/b 7",
        "builds\\b7",
        "builds/b7?x",
        "builds/%2e%2e",
        None,
        7,
    ],
)
def test_it_refuses_a_build_prefix_that_is_not_a_plain_relative_key_prefix(prefix):
    assert_refused(config_doc(site={"build": {"id": "b7", "prefix": prefix}}), "site.build.prefix")


@pytest.mark.parametrize("build", [{"id": "", "prefix": "b"}, {"id": 7, "prefix": "b"}])
def test_it_refuses_a_bad_build_id(build):
    assert_refused(config_doc(site={"build": build}), "site.build.id")


@pytest.mark.parametrize("build", [{"prefix": "b"}, {"id": "b", "prefix": "b", "live": True}, [], "builds/b7"])
def test_it_refuses_a_misshapen_build(build):
    assert_refused(config_doc(site={"build": build}), "site.build")


# --- provider -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://idp.example/authorize",
        "http://localhost.evil.example/authorize",
        "http://localhostevil.example/",
        "http://127.0.0.2/authorize",
        "http://[::1]/authorize",
        "http://evil.example\\@idp.localhost/authorize",
        "http://evil.example#.localhost",
        "ftp://idp.example/authorize",
        "javascript:alert(1)",
        "//idp.example/authorize",
        "/authorize",
        "https://",
        "https:///authorize",
        "https://idp.example:99999/authorize",
        "https://idp.example:x/authorize",
        "https://idp.example/author ize",
        "https://idp.example/\r\nx",
        "https://idp.example/\x00",
        "https://idp.example/" + "a" * 2048,
        "",
        None,
        7,
    ],
)
@pytest.mark.parametrize("key", ["issuer", "authorization_endpoint", "token_endpoint"])
def test_it_refuses_a_provider_url_that_is_not_https_or_local_http(key, url):
    assert_refused(config_doc(provider={key: url}), f"provider.{key}")


@pytest.mark.parametrize("key", ["userinfo_endpoint", "end_session_endpoint", "jwks_uri"])
@pytest.mark.parametrize("url", ["http://idp.example/x", "", "idp.example/x", 7])
def test_it_refuses_a_bad_optional_provider_url(key, url):
    assert_refused(config_doc(provider={key: url}), f"provider.{key}")


@pytest.mark.parametrize("value", ["redirect_uri", "postLogoutRedirectUri", "", None])
def test_it_refuses_an_unknown_end_session_redirect_param(value):
    assert_refused(config_doc(provider={"end_session_redirect_param": value}), "provider.end_session_redirect_param")


@pytest.mark.parametrize("value", ["logout_uri", "returnTo", "post_logout_redirect_uri"])
def test_it_accepts_the_known_end_session_redirect_params(value):
    assert site_config(provider={"end_session_redirect_param": value}).end_session_redirect_param == value


@pytest.mark.parametrize("value", ["", None, 7, "x" * 513])
def test_it_refuses_a_bad_client_id(value):
    assert_refused(config_doc(provider={"client_id": value}), "provider.client_id")


@pytest.mark.parametrize("method", ["client_secret_jwt", "private_key_jwt", "", None, "Client_Secret_Basic"])
def test_it_refuses_an_unknown_token_endpoint_auth_method(method):
    assert_refused(config_doc(provider={"token_endpoint_auth_method": method}), "provider.token_endpoint_auth_method")


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
@pytest.mark.parametrize("secret", [None, ""])
def test_a_secret_auth_method_needs_a_client_secret(method, secret):
    assert_refused(
        config_doc(provider={"token_endpoint_auth_method": method, "client_secret": secret}),
        "provider.client_secret",
    )


@pytest.mark.parametrize("secret", [7, ["s"], {"s": 1}])
def test_it_refuses_a_client_secret_that_is_not_a_string(secret):
    assert_refused(config_doc(provider={"client_secret": secret}), "provider.client_secret")


@pytest.mark.parametrize(
    "scopes",
    [
        [],
        ["email", "profile"],
        ["OpenID", "email"],
        ["openid email"],
        ["openid", ""],
        ["openid", 'e"mail'],
        ["openid", "openid"],
        "openid",
        None,
        [None],
    ],
)
def test_it_refuses_scopes_without_openid_or_with_bad_entries(scopes):
    assert_refused(config_doc(provider={"scopes": scopes}), "provider.scopes")


@pytest.mark.parametrize(
    "name",
    sorted(config.RESERVED_AUTHORIZE_PARAMS) + [""],
)
def test_it_refuses_authorize_params_the_edge_sets_itself(name):
    assert_refused(config_doc(provider={"authorize_params": {name: "x"}}), "provider.authorize_params")


def test_the_reserved_authorize_params_are_those_the_contract_names():
    assert config.RESERVED_AUTHORIZE_PARAMS == {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }


@pytest.mark.parametrize("params", [{"audience": 7}, {"audience": None}, ["audience"], None, "audience=x"])
def test_it_refuses_authorize_params_that_are_not_strings(params):
    assert_refused(config_doc(provider={"authorize_params": params}), "provider.authorize_params")


@pytest.mark.parametrize("jwks", [None, [], {"keys": {}}, {"keys": None}, {"keys": ["k1"]}, {"kty": "RSA"}])
def test_it_refuses_a_jwks_that_is_not_a_jwk_set(jwks):
    assert_refused(config_doc(provider={"jwks": jwks}), "provider.jwks")


@pytest.mark.parametrize(
    "algs",
    [
        [],
        ["none"],
        ["RS256", "none"],
        ["HS512"],
        ["HS384"],
        ["rs256"],
        ["EdDSA"],
        ["PS512"],
        ["RS256", "RS256"],
        "RS256",
        None,
    ],
)
def test_it_refuses_id_token_algs_outside_the_allowed_set(algs):
    assert_refused(config_doc(provider={"id_token_algs": algs}), "provider.id_token_algs")


def test_every_documented_id_token_alg_is_accepted():
    algs = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "HS256"]
    cfg = site_config(provider={"id_token_algs": algs, "client_secret": HS256_SECRET})
    assert cfg.id_token_algs == frozenset(algs)


@pytest.mark.parametrize("secret", ["s" * 31, "\u00e9" * 15 + "s"])
def test_hs256_needs_a_client_secret_of_at_least_32_bytes(secret):
    assert_refused(config_doc(provider={"id_token_algs": ["HS256"], "client_secret": secret}), "provider.id_token_algs")


def test_hs256_accepts_a_32_byte_client_secret():
    config.validate(config_doc(provider={"id_token_algs": ["HS256"], "client_secret": "\u00e9" * 16}))


def test_hs256_needs_a_client_secret():
    doc = config_doc(
        provider={"id_token_algs": ["HS256"], "client_secret": None, "token_endpoint_auth_method": "none"}
    )
    assert_refused(doc, "provider.id_token_algs")


@pytest.mark.parametrize("tenant", ["", 7, ["t"]])
def test_it_refuses_a_bad_tenant_id(tenant):
    assert_refused(config_doc(provider={"tenant_id": tenant}), "provider.tenant_id")


# --- session ------------------------------------------------------------------------


@pytest.mark.parametrize("lifetime", [0, 299, 2_592_001, -1, 300.0, "3600", True, None])
def test_it_refuses_a_session_lifetime_out_of_bounds_or_mistyped(lifetime):
    assert_refused(config_doc(session={"lifetime_seconds": lifetime}), "session.lifetime_seconds")


@pytest.mark.parametrize("lifetime", [300, 2_592_000])
def test_it_accepts_the_session_lifetime_bounds(lifetime):
    assert site_config(session={"lifetime_seconds": lifetime}).session_lifetime == lifetime


@pytest.mark.parametrize(
    "key",
    [
        KEY_A[:42],  # 31 bytes
        "A" * 42,
        "",
        KEY_A + "=",  # padding is not base64url as the contract writes it
        "+" + KEY_A[1:],
        "/" * 43,
        "A" * 43 + " ",
        "A" * 45,  # 45 % 4 == 1: not base64 at all
        "é" * 43,
        None,
        7,
        ["A" * 43],
    ],
)
def test_it_refuses_a_session_key_that_is_short_or_not_base64url(key):
    assert_refused(config_doc(session={"keys": {"s1": key}}), "session.keys")


@pytest.mark.parametrize("kid", ["", "k" * 33, "k 1", "k.1", "k/1", "ķ"])
def test_it_refuses_a_bad_session_key_id(kid):
    assert_refused(config_doc(session={"current_kid": kid, "keys": {kid: KEY_A}}), "session.keys")


def test_it_refuses_a_non_string_session_key_id_without_crashing():
    # JSON cannot express it, but the console validates Python dicts.
    assert_refused(config_doc(session={"current_kid": 1, "keys": {1: KEY_A}}), "session.keys")


@pytest.mark.parametrize("keys", [{}, None, [KEY_A], KEY_A])
def test_it_refuses_an_empty_or_mistyped_key_set(keys):
    assert_refused(config_doc(session={"keys": keys}), "session.keys")


@pytest.mark.parametrize("kid", ["s3", "", None, 1, ["s1"], {"s1": 1}])
def test_it_refuses_a_current_kid_that_is_not_one_of_the_keys(kid):
    assert_refused(config_doc(session={"current_kid": kid, "keys": {"s1": KEY_A, "s2": KEY_B}}), "session.current_kid")


# --- access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "Ann@client.example",
        "ann@Client.Example",
        "ann",
        "ann@",
        "@client.example",
        "ann@@client.example",
        "ann@b@client.example",
        "ann@client.example ",
        "ann smith@client.example",
        "ann\n@client.example",
        "ann@client..example",
        "ann@client.example:25",
        "",
    ],
)
def test_it_refuses_an_email_that_is_not_a_lower_case_address(email):
    assert_refused(config_doc(access={"emails": [email]}), "access.emails")


@pytest.mark.parametrize("emails", [None, "ann@client.example", [7], ["ann@client.example", "ann@client.example"]])
def test_it_refuses_a_mistyped_email_list(emails):
    assert_refused(config_doc(access={"emails": emails}), "access.emails")


@pytest.mark.parametrize(
    "domain",
    ["@client.example", ".client.example", "*.client.example", "Client.Example", "client.example.", "", "client example"],
)
def test_it_refuses_an_email_domain_that_is_not_a_lower_case_domain(domain):
    assert_refused(config_doc(access={"email_domains": [domain]}), "access.email_domains")


@pytest.mark.parametrize("claim", [None, ""])
def test_groups_need_a_groups_claim(claim):
    assert_refused(config_doc(access={"groups_claim": claim, "groups": ["a"]}), "access.groups")


@pytest.mark.parametrize("claim", ["", 7, ["groups"]])
def test_it_refuses_a_bad_groups_claim(claim):
    assert_refused(config_doc(access={"groups_claim": claim}), "access.groups_claim")


def test_a_groups_claim_without_groups_is_allowed():
    config.validate(config_doc(access={"groups_claim": "groups", "groups": []}))


@pytest.mark.parametrize("value", [0, 1, "true", None])
def test_it_refuses_a_non_boolean_allow_any_user(value):
    assert_refused(config_doc(access={"allow_any_user": value}), "access.allow_any_user")


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-12-31",
        "2026-12-31T23:59:59",
        "2026-12-31T23:59:59+00:00",
        "2026-12-31T23:59:59.000Z",
        "2026-12-31 23:59:59Z",
        "2026-12-31t23:59:59z",
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-12-31T24:00:00Z",
        "2026-12-31T23:60:00Z",
        " 2026-12-31T23:59:59Z",
        "2026-12-31T23:59:59Z\n",
        "",
        1798761599,
        True,
        ["2026-12-31T23:59:59Z"],
    ],
)
@pytest.mark.parametrize("key", ["not_before", "not_after"])
def test_it_refuses_a_timestamp_not_in_the_documented_form(key, stamp):
    assert_refused(config_doc(access={key: stamp}), f"access.{key}")


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-06-01T00:00:00Z", "2026-06-01T00:00:00Z"), ("2026-06-02T00:00:00Z", "2026-06-01T00:00:00Z")],
)
def test_it_refuses_an_access_window_that_ends_before_it_starts(start, end):
    assert_refused(config_doc(access={"not_before": start, "not_after": end}), "access.not_after")


def test_parse_timestamp_is_utc():
    assert config.parse_timestamp("1970-01-01T00:00:00Z") == 0
    assert config.parse_timestamp("2000-02-29T12:00:00Z") == 951825600


# --- paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "public",
    [
        "/",
        "//x",
        "//evil.example/",
        "/a//b",
        "/a/../b",
        "/a/./b",
        "/a/..",
        "/..",
        "/a%2fb",
        "/%2e%2e/",
        "/a\\b",
        "/a?b",
        "/a#b",
        "/a b",
        "/a\tb",
        "assets/",
        "",
        "/_gatehouse/",
        "/_gatehouse/me",
        "/_gatehouse/callback",
        7,
    ],
)
def test_it_refuses_a_public_path_that_is_not_normalised_or_is_outside_the_site(public):
    assert_refused(config_doc(paths={"public": [public]}), "paths.public")


def test_it_refuses_duplicate_public_paths():
    assert_refused(config_doc(paths={"public": ["/a", "/a"]}), "paths.public")


def test_it_accepts_folder_and_exact_public_paths():
    cfg = site_config(paths={"public": ["/favicon.ico", "/assets/public/", "/robots.txt", "/a-b_c.~d/"]})
    assert cfg.public_paths == ("/favicon.ico", "/assets/public/", "/robots.txt", "/a-b_c.~d/")


@pytest.mark.parametrize(
    "path",
    [
        "/callback",
        "/_gatehouse",
        "/_gatehouse/",
        "/_gatehousecallback",
        "/_gatehouse/../callback",
        "/_gatehouse//callback",
        "/_gatehouse/%63allback",
        "/_gatehouse/call back",
        "/_gatehouse/cb?x=1",
        "//_gatehouse/cb",
        "_gatehouse/cb",
        "",
        None,
        7,
    ],
)
@pytest.mark.parametrize("key", ["callback", "sign_out"])
def test_it_refuses_a_callback_or_sign_out_path_outside_gatehouse(key, path):
    assert_refused(config_doc(paths={key: path}), f"paths.{key}")


@pytest.mark.parametrize("key", ["callback", "sign_out"])
def test_it_refuses_a_callback_or_sign_out_that_would_hide_the_me_endpoint(key):
    # The contract: GET /_gatehouse/me always answers with the viewer's claims.
    assert_refused(config_doc(paths={key: "/_gatehouse/me"}), f"paths.{key}")


def test_it_refuses_a_sign_out_path_equal_to_the_callback():
    doc = config_doc(paths={"callback": "/_gatehouse/x", "sign_out": "/_gatehouse/x"})
    assert_refused(doc, "paths.sign_out")


# --- headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "set-cookie",
        "location",
        "host",
        "content-length",
        "content-type",
        "cache-control",
        "transfer-encoding",
        "via",
        "connection",
        "keep-alive",
        "upgrade",
        "trailer",
        "te",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "expect",
        "x-accel-redirect",
        "x-cache",
        "x-real-ip",
        "x-forwarded-proto",
        "x-amz-cf-id",
        "x-amz-meta-owner",
        "x-amzn-trace-id",
        "x-edge-location",
        "x-edge-anything",
        "cloudfront-viewer-country",
    ],
)
def test_it_refuses_headers_the_edge_owns_or_cloudfront_refuses(name):
    assert_refused(config_doc(headers={name: "x"}), "headers")


@pytest.mark.parametrize(
    "name", ["Strict-Transport-Security", "X-Frame-Options", "x frame", "x:frame", "", "x" * 65, "ü", "x\r\n"]
)
def test_it_refuses_header_names_that_are_not_lower_case_tokens(name):
    assert_refused(config_doc(headers={name: "x"}), "headers")


def test_it_refuses_a_non_string_header_name_without_crashing():
    assert_refused(config_doc(headers={1: "x"}), "headers")


@pytest.mark.parametrize(
    "value",
    [
        "DENY\r\nSet-Cookie: a=b",
        "DENY\nx",
        "DENY\rx",
        "DENY\x00",
        "DENY\x7f",
        "a\tb",
        "",
        None,
        7,
        ["DENY"],
    ],
)
def test_it_refuses_header_values_that_are_not_one_line_strings(value):
    assert_refused(config_doc(headers={"x-frame-options": value}), "headers")


def test_it_accepts_an_empty_header_set():
    doc = config_doc()
    doc["headers"] = {}
    assert config.parse(doc).headers == {}


def test_a_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_it_refuses_headers_that_would_crowd_out_the_40_kb_page_limit():
    doc = config_doc()
    doc["headers"] = {"content-security-policy": "default-src 'none'; " + "a" * 5000}
    with pytest.raises(ConfigError) as info:
        config.validate(doc)
    assert any("headers" in e and "4096" in e for e in info.value.errors)
    doc["headers"] = {f"x-demo-{i}": "1" for i in range(21)}
    with pytest.raises(ConfigError):
        config.validate(doc)


@pytest.mark.parametrize(
    "session",
    [
        {"current_kid": "s3", "keys": {"s1": KEY_A, "s2": KEY_B}},
        {"current_kid": "S1", "keys": {"s1": KEY_A}},
        {"current_kid": "s1 ", "keys": {"s1": KEY_A}},
    ],
)
def test_a_current_kid_missing_from_the_keys_is_refused_and_never_parsed(session):
    doc = config_doc(session=session)
    assert_refused(doc, "session.current_kid")
    # Built without validate() (as a caller might), it still refuses rather
    # than leave tokens.sign to pick another key.
    with pytest.raises(config.ConfigError, match="current_kid"):
        config.SiteConfig(doc)
