"""Config documents for edge tests.

`config_doc(**overrides)` returns a fresh, valid schema-1 document (a deep
copy every call, so tests may mutate it freely). Each keyword names a
top-level field; when both the default and the override are objects the
override is merged into that section *shallowly* (its keys replace the
section's keys, nothing deeper), otherwise it replaces the field:

    config_doc(access={"emails": ["ann@client.example"]})       # other access fields kept
    config_doc(session={"current_kid": "k2", "keys": {"k2": KEY_B}})  # keys replaced whole
    config_doc(provider={"tenant_id": DELETE})                 # drop a field
    config_doc(headers=None)                                    # replace a whole section

`site_config(**overrides)` is `edge_runtime.config.parse(config_doc(...))`.
"""

import base64
import copy

from edge_runtime import config

# Two distinct 32-byte session keys, base64url without padding.
KEY_A = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
KEY_B = base64.urlsafe_b64encode(bytes(range(100, 132))).rstrip(b"=").decode()
SESSION_KEYS = {"s1": KEY_A, "s2": KEY_B}

HOST = "demo.example.com"
SITE_ID = "acme-demo"
DISTRIBUTION_ID = "EDFDVBD6EXAMPLE"


class _Delete:
    def __repr__(self):
        return "DELETE"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


# Use as an override value to remove that field from its section.
DELETE = _Delete()

_DEFAULT = {
    "schema_version": 3,
    "site": {
        "id": SITE_ID,
        "hosts": [HOST],
        "distribution_id": DISTRIBUTION_ID,
        "disabled": False,
        "build": {"id": "b7", "prefix": "builds/b7"},
        "spa": False,
    },
    "provider": {
        "issuer": "https://idp.example/",
        "authorization_endpoint": "https://idp.example/authorize",
        "token_endpoint": "https://idp.example/oauth/token",
        "userinfo_endpoint": "https://idp.example/userinfo",
        "end_session_endpoint": "https://idp.example/logout",
        "jwks_uri": "https://idp.example/.well-known/jwks.json",
        "client_id": "client-abc",
        "client_secret": "not-a-real-secret",
        "token_endpoint_auth_method": "client_secret_basic",
        "scopes": ["openid", "email", "profile"],
        "authorize_params": {},
        "jwks": {"keys": []},
        "id_token_algs": ["RS256"],
        "tenant_id": None,
    },
    "session": {"lifetime_seconds": 28800, "current_kid": "s1", "keys": {"s1": KEY_A}},
    "access": {
        "allow_any_user": False,
        "emails": ["ann@client.example"],
        "email_domains": ["consultancy.example"],
        "groups_claim": None,
        "groups": [],
        "not_before": None,
        "not_after": None,
    },
    "paths": {
        "public": ["/favicon.ico"],
        "callback": "/_gatehouse/callback",
        "sign_out": "/_gatehouse/sign-out",
    },
    "headers": {
        "strict-transport-security": "max-age=63072000; includeSubDomains",
        "x-content-type-options": "nosniff",
    },
}


def config_doc(**overrides):
    """A fresh valid config document with `overrides` applied (see module doc)."""
    doc = copy.deepcopy(_DEFAULT)
    for field, value in overrides.items():
        value = copy.deepcopy(value)
        if value is DELETE:
            doc.pop(field, None)
        elif isinstance(value, dict) and isinstance(doc.get(field), dict):
            for key, item in value.items():
                if item is DELETE:
                    doc[field].pop(key, None)
                else:
                    doc[field][key] = item
        else:
            doc[field] = value
    return doc


def site_config(**overrides):
    """The parsed SiteConfig of `config_doc(**overrides)`."""
    return config.parse(config_doc(**overrides))


def rotated_session(*, current="s2"):
    """A session section holding both keys, `current` signing new sessions."""
    return {"current_kid": current, "keys": dict(SESSION_KEYS)}
