"""The edge's refusal reasons (edge_runtime/handler.py refusal_reasons) as sentences staff can read."""

from __future__ import annotations

import re

METHODS = {"oidc": "identity provider", "email_code": "e-mail code", "share_link": "share link"}

# (pattern over one reason, sentence); the first match wins.
_REASONS = [
    (r"no access rule is set", "The site lets nobody in: it has no access rule."),
    (r"e-mail rules: claim email missing", "The identity provider sent no e-mail address."),
    (
        r"e-mail rules: claim email_verified missing",
        "The identity provider did not say whether the e-mail address is verified.",
    ),
    (r"e-mail rules: email_verified is .*", "The identity provider has not verified the e-mail address."),
    (r"e-mail rules: address not listed, domain not listed", "Neither the address nor its domain is on the allowed list."),
    (
        r"e-mail rules: address not listed, domain listed",
        "The address's domain is allowed, but the identity provider does not vouch for the address "
        "(see “E-mail proof” on the site page).",
    ),
    (r"group rule: claim (\S+) missing", "The identity provider sent no groups (no “{0}” claim)."),
    (r"group rule: claim (\S+) is not a list", "The “{0}” claim is not a list of groups."),
    (r"group rule: none of (\d+) groups in (\S+) is allowed", "None of the viewer's groups ({0} in “{1}”) is allowed."),
    (r"before the access window.*", "The demo was not open yet."),
    (r"after the access window.*", "The demo's access had ended."),
    (r"share link unknown or revoked", "The share link was revoked (or never existed)."),
    (r"share link expired", "The share link had expired."),
    (r"share link secret does not match", "The share link had been altered: its secret did not match."),
    (r"share link malformed", "The share link was incomplete or malformed."),
]
_COMPILED = [(re.compile(pattern + r"$"), sentence) for pattern, sentence in _REASONS]


def reason_sentence(reason: str) -> str:
    for pattern, sentence in _COMPILED:
        match = pattern.match(reason)
        if match:
            return sentence.format(*match.groups())
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith(".") else ".")


def refusal_sentence(reasons: list[str]) -> str:
    """Every rule's reason, one sentence each; a refusal with none says so."""
    if not reasons:
        return "No reason was recorded."
    return " ".join(dict.fromkeys(reason_sentence(str(r)) for r in reasons))


def method_name(method: str) -> str:
    return METHODS.get(method, method or "unknown")
