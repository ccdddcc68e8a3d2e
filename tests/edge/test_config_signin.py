"""Schema 3: `signin_methods`, `email_code` and `identity_assertion` (docs/email-code.md)."""

import pytest

from edge_runtime import config
from tests.edge.factories import DELETE, config_doc
from tests.edge.test_emailcode import EMAIL_SECTION, email_doc

# A P-256 private scalar, base64url (the factory's fixed test key, never used elsewhere).
SIGNING_KEY = "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"
ASSERTION = {"path_prefixes": ["/api/"], "lifetime_seconds": 300, "kid": "ia1", "signing_key": SIGNING_KEY}


def errors_of(doc, **kwargs):
    with pytest.raises(config.ConfigError) as info:
        config.validate(doc, **kwargs)
    return info.value.errors


def test_an_email_code_only_site_has_no_provider_and_parses():
    cfg = config.parse(email_doc())
    assert cfg.signin_methods == ("email_code",) and not cfg.uses_idp
    assert cfg.issuer is None and cfg.email_code["sender"] == EMAIL_SECTION["sender"]


def test_both_methods_need_the_provider():
    assert "config.provider: is required for the idp sign-in method" in errors_of(
        email_doc(signin_methods=["idp", "email_code"], provider=None)
    )
    config.validate(email_doc(signin_methods=["idp", "email_code"], provider=config_doc()["provider"]))


def test_a_provider_is_refused_when_it_is_not_a_method():
    assert "config.provider: must be null when the identity provider is not a sign-in method" in errors_of(
        email_doc(provider=config_doc()["provider"])
    )


@pytest.mark.parametrize("methods", [[], ["sms"], ["idp", "idp"], "idp", None, [1]])
def test_unknown_or_malformed_methods_are_refused(methods):
    assert any(e.startswith("config.signin_methods") for e in errors_of(email_doc(signin_methods=methods)))


def test_the_email_code_method_needs_its_section_and_an_address_rule():
    assert any(e.startswith("email_code") for e in errors_of(email_doc(email_code=None)))
    errors = errors_of(email_doc(access={"emails": [], "email_domains": []}))
    assert "config.signin_methods: email_code needs access.emails or access.email_domains" in errors


def test_the_email_code_section_is_refused_without_the_method():
    assert "config.email_code: is only read with the email_code sign-in method" in errors_of(
        config_doc(email_code=EMAIL_SECTION)
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("sender", "Sign-in <x@y.example>"),
        ("sender", "X@Y.example"),
        ("sender", "x@y.example\r\nBcc: z@y.example"),
        ("region", "eu-west"),
        ("region", "https://email.eu-west-1.amazonaws.com"),
        ("code_lifetime_seconds", config.MAX_CODE_LIFETIME + 1),
        ("code_lifetime_seconds", 59),
        ("code_lifetime_seconds", True),
        ("max_sends_per_transaction", 0),
        ("max_sends_per_transaction", config.MAX_SENDS_PER_TRANSACTION + 1),
        ("max_sends_per_address", 0),
        ("max_sends_per_address", "5"),
    ],
)
def test_a_bad_email_code_field_is_refused(field, value):
    assert any(e.startswith(f"email_code.{field}") for e in errors_of(email_doc(email_code={**EMAIL_SECTION, field: value})))


def test_an_unknown_email_code_field_is_refused():
    assert "email_code.template: is not a known field" in errors_of(email_doc(email_code={**EMAIL_SECTION, "template": "x"}))


def test_the_identity_assertion_validates_and_parses():
    cfg = config.parse(config_doc(identity_assertion=ASSERTION))
    assert cfg.assertion_prefixes == ("/api/",) and cfg.assertion_exact == frozenset()
    cfg = config.parse(config_doc(identity_assertion={**ASSERTION, "path_prefixes": ["/graphql"]}))
    assert cfg.assertion_exact == {"/graphql"} and cfg.assertion_prefixes == ("/graphql/",)


@pytest.mark.parametrize(
    "field, value",
    [
        ("path_prefixes", []),
        ("path_prefixes", ["/"]),
        ("path_prefixes", ["api"]),
        ("path_prefixes", ["/_gatehouse/x"]),
        ("path_prefixes", ["/a/../b"]),
        ("path_prefixes", [f"/p{i}" for i in range(21)]),
        ("lifetime_seconds", 59),
        ("lifetime_seconds", 3601),
        ("kid", "has space"),
        ("signing_key", "short"),
        ("signing_key", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),  # zero is no key
        ("signing_key", "_____________________________________________w"[:43]),  # above the group order
        ("signing_key", None),
    ],
)
def test_a_bad_identity_assertion_field_is_refused(field, value):
    doc = config_doc(identity_assertion={**ASSERTION, field: value})
    assert any(e.startswith(f"identity_assertion.{field}") for e in errors_of(doc))


def test_schema_3_fields_are_refused_in_older_documents_and_dropped_for_older_releases():
    doc = email_doc(signin_methods=["idp", "email_code"], provider=config_doc()["provider"], identity_assertion=ASSERTION)
    for version in (1, 2):
        errors = errors_of(dict(doc, schema_version=version))
        assert "config.signin_methods: needs schema version 3 or later" in errors
        assert "config.identity_assertion: needs schema version 3 or later" in errors
        old = config.for_schema(doc, version)
        assert not {"signin_methods", "email_code", "identity_assertion"} & set(old)
        config.validate(old, schema_version=version)


def test_versions_1_and_2_stay_valid():
    for version in (1, 2):
        config.validate(config.for_schema(config_doc(), version), schema_version=version)


def test_an_older_document_still_needs_a_provider():
    assert any(e.startswith("provider") or e.startswith("config.provider") for e in errors_of(config_doc(schema_version=2, provider=None)))


def test_the_reserved_sign_in_paths_cannot_be_a_callback():
    for path in ("/_gatehouse/sign-in", "/_gatehouse/sign-in/code", "/_gatehouse/jwks.json"):
        assert f"paths.callback: {path} is answered by the edge itself" in errors_of(config_doc(paths={"callback": path}))
