"""A small valid config document for the store and gateway tests.

Deliberately independent of tests/edge/factories.py (another engineer's), so
these tests only depend on edge_runtime.config's contract.
"""

import base64
import copy

_KEY = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()

_DOC = {
    "schema_version": 3,
    "site": {
        "id": "store-test",
        "hosts": [],
        "distribution_id": "EDFDVBD6EXAMPLE",
        "disabled": False,
        "build": {"id": "b1", "prefix": "builds/b1"},
        "spa": False,
    },
    "provider": {
        "issuer": "https://idp.example/",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/token",
        "userinfo_endpoint": None,
        "end_session_endpoint": None,
        "jwks_uri": None,
        "client_id": "client",
        "client_secret": "not-a-real-secret-but-32-bytes-long",
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": ["openid"],
        "authorize_params": {},
        "jwks": {"keys": []},
        "id_token_algs": ["HS256"],
        "tenant_id": None,
    },
    "session": {"lifetime_seconds": 3600, "current_kid": "s1", "keys": {"s1": _KEY}},
    "access": {
        "allow_any_user": True,
        "emails": [],
        "email_domains": [],
        "groups_claim": None,
        "groups": [],
        "not_before": None,
        "not_after": None,
    },
    "paths": {"public": [], "callback": "/_gatehouse/callback", "sign_out": "/_gatehouse/sign-out"},
    "headers": {},
}


def site_doc(host, *, site_id="store-test", distribution_id="EDFDVBD6EXAMPLE", **site):
    doc = copy.deepcopy(_DOC)
    doc["site"].update(id=site_id, hosts=[host], distribution_id=distribution_id, **site)
    return doc
