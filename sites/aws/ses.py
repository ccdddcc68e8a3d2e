"""Amazon SES (v2): the console's own e-mail (invitations, access reminders).

Messages are built elsewhere (sites/mail.py) and sent here as raw MIME, so
the text part always travels with the HTML. The sender must be a verified
identity; a new account is in the sandbox until production access is
granted, and then sends only to verified recipients.
"""

from __future__ import annotations

from .clients import AwsError, _call, client


def email_send_raw(*, sender: str, recipients: list[str], raw: bytes, region_name: str) -> str:
    """Send one MIME message; the SES message id. AwsError / AwsTransientError on refusal."""
    answer = _call(
        client("sesv2", region_name=region_name),
        "send_email",
        FromEmailAddress=sender,
        Destination={"ToAddresses": list(recipients)},
        Content={"Raw": {"Data": raw}},
    )
    return str(answer.get("MessageId", ""))


def email_identity_ensure(*, identity: str, region_name: str) -> None:
    """Verify `identity` in SES unless it is known already.

    For the local stack only (`dev_seed`, against moto): in real AWS verifying
    an identity is the operator's step, and the console's policy does not
    allow it (docs/iam/README.md)."""
    ses = client("sesv2", region_name=region_name)
    try:
        _call(ses, "create_email_identity", EmailIdentity=identity)
    except AwsError as exc:
        if exc.code != "AlreadyExistsException":
            raise
