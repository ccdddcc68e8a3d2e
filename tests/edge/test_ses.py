"""SES v2 SendEmail from the edge's own SigV4 code, against moto's server.

moto keeps what it was sent; its `/moto-api/data.json` lists the messages
(the `ses` backend's `Message` rows: source, destinations, subject, and the
HTML part as `body`).
"""

import json
import urllib.request

import pytest

from edge_runtime import ses, sigv4

SENDER = "sign-in@consultancy.example"
CREDS = sigv4.Credentials("testing", "testing")


def sent_messages(endpoint_url):
    with urllib.request.urlopen(endpoint_url + "/moto-api/data.json", timeout=10) as response:
        return json.load(response)["ses"]["Message"]


def verify_sender(endpoint_url, address=SENDER):
    import boto3

    client = boto3.client(
        "sesv2", endpoint_url=endpoint_url, region_name="eu-west-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    client.create_email_identity(EmailIdentity=address)


def test_a_signed_send_reaches_moto_with_both_parts(moto_reset):
    verify_sender(moto_reset.endpoint_url)
    body = ses.message_body(sender=SENDER, to="ann@client.example", subject="Your code", text="code ABCD-EFGH", html="<p>ABCD-EFGH</p>")
    message_id = ses.send(region="eu-west-1", body=body, endpoint_url=moto_reset.endpoint_url, credentials=CREDS)
    assert message_id
    [message] = sent_messages(moto_reset.endpoint_url)
    assert message["source"] == SENDER and message["destinations"] == {"ToAddresses": ["ann@client.example"]}
    assert "ABCD-EFGH" in message["body"]
    parts = json.loads(body)["Content"]["Simple"]["Body"]
    assert set(parts) == {"Text", "Html"}


def test_an_unverified_sender_is_a_send_error_without_the_address(moto_reset):
    body = ses.message_body(sender="nobody@consultancy.example", to="ann@client.example", subject="s", text="t", html="h")
    with pytest.raises(ses.SendError) as info:
        ses.send(region="eu-west-1", body=body, endpoint_url=moto_reset.endpoint_url, credentials=CREDS)
    assert info.value.reason == "SES answered 400: MessageRejected"
    assert "@" not in info.value.reason


def test_an_unreachable_endpoint_is_a_send_error():
    body = ses.message_body(sender=SENDER, to="ann@client.example", subject="s", text="t", html="h")
    with pytest.raises(ses.SendError):
        ses.send(region="eu-west-1", body=body, endpoint_url="http://127.0.0.1:9", credentials=CREDS, timeout=1)


def test_the_request_is_signed_for_ses_in_the_sites_region(monkeypatch):
    seen = {}

    class Conn:
        def __init__(self, host, port, timeout=None, context=None):
            seen["host"] = host

        def request(self, method, path, body=None, headers=None):
            seen.update(method=method, path=path, headers=headers)

        def getresponse(self):
            class R:
                status = 200

                def read(self, n):
                    return b'{"MessageId":"m"}'

            return R()

        def close(self):
            pass

    monkeypatch.setattr(ses.http.client, "HTTPSConnection", Conn)
    body = ses.message_body(sender=SENDER, to="ann@client.example", subject="s", text="t", html="h")
    assert ses.send(region="eu-west-1", body=body, credentials=CREDS) == "m"
    assert seen["host"] == "email.eu-west-1.amazonaws.com"
    assert seen["method"] == "POST" and seen["path"] == "/v2/email/outbound-emails"
    assert "/eu-west-1/ses/aws4_request" in seen["headers"]["authorization"]


def test_the_send_error_says_nothing_of_a_missing_credential(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(ses.SendError) as info:
        ses.send(region="eu-west-1", body=b"{}")
    assert info.value.reason.startswith("cannot sign")
