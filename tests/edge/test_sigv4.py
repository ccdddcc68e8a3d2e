"""SigV4 against AWS's documented example and against botocore's signer."""

import calendar

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from edge_runtime import sigv4
from edge_runtime.sigv4 import Credentials, SigV4Error, credentials_from_env, sign

ACCESS = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MAY_24_2013 = calendar.timegm((2013, 5, 24, 0, 0, 0))


def test_the_s3_get_object_example_from_the_aws_docs():
    headers = sign(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        region="us-east-1",
        service="s3",
        credentials=Credentials(ACCESS, SECRET),
        headers={"Range": "bytes=0-9"},
        now=MAY_24_2013,
    )
    assert headers["x-amz-content-sha256"] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert headers["x-amz-date"] == "20130524T000000Z"
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


def botocore_signature(auth_class, method, url, headers, payload, token, service, region):
    creds = BotoCredentials(ACCESS, SECRET, token)
    auth = auth_class(creds, service, region)
    request = AWSRequest(method=method, url=url, headers=dict(headers), data=payload)
    request.context["timestamp"] = "20240229T123456Z"
    canonical = auth.canonical_request(request)
    return auth.signature(auth.string_to_sign(request, canonical), request), canonical


CASES = [
    # (service, region, method, url, extra headers, payload, session token, unsigned)
    ("s3", "eu-west-1", "GET", "http://127.0.0.1:5000/gatehouse-config/sites/demo.example.com.json", {}, b"", None, False),
    ("s3", "ap-southeast-2", "GET", "https://b.s3.ap-southeast-2.amazonaws.com/a%20b/%C3%A9t%C3%A9.json", {}, b"", "tok/en+=", False),
    ("s3", "us-east-1", "PUT", "https://b.s3.amazonaws.com/k?versionId=3&acl", {"Content-Type": "application/json"}, b'{"a": 1}', None, False),
    ("s3", "us-west-2", "GET", "https://b.s3.us-west-2.amazonaws.com/k?list-type=2&prefix=a%2Fb&max-keys=5", {}, b"", None, True),
    ("cloudfront", "us-east-1", "GET", "https://cloudfront.amazonaws.com/2020-05-31/distribution/EDFDVBD6EXAMPLE", {}, b"", "session", False),
    ("cloudfront", "us-east-1", "GET", "http://127.0.0.1:5000/2020-05-31/distribution/E%2FX", {"X-Custom": "  a   b "}, b"", None, False),
]


@pytest.mark.parametrize("service, region, method, url, extra, payload, token, unsigned", CASES)
def test_it_matches_botocore(service, region, method, url, extra, payload, token, unsigned):
    now = calendar.timegm((2024, 2, 29, 12, 34, 56))
    ours = sign(
        method,
        url,
        region=region,
        service=service,
        credentials=Credentials(ACCESS, SECRET, token),
        headers=extra,
        payload=payload,
        unsigned_payload=unsigned,
        now=now,
    )
    # Give botocore exactly the headers we sign, minus the signature itself.
    to_botocore = {k: v for k, v in ours.items() if k != "authorization"}
    auth_class = S3SigV4Auth if service == "s3" else SigV4Auth
    expected, canonical = botocore_signature(auth_class, method, url, to_botocore, payload, token, service, region)
    assert ours["authorization"].endswith("Signature=" + expected), canonical
    if token:
        assert ours["x-amz-security-token"] == token
    else:
        assert "x-amz-security-token" not in ours
    assert ("x-amz-content-sha256" in ours) == (service == "s3")
    if unsigned:
        assert ours["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"


def test_the_host_header_keeps_a_non_default_port():
    headers = sign("GET", "http://127.0.0.1:5000/b/k", region="us-east-1", service="s3", credentials=Credentials(ACCESS, SECRET))
    assert headers["host"] == "127.0.0.1:5000"
    headers = sign("GET", "https://b.s3.amazonaws.com:443/k", region="us-east-1", service="s3", credentials=Credentials(ACCESS, SECRET))
    assert headers["host"] == "b.s3.amazonaws.com"


def test_the_signing_key_is_derived_once_per_scope(monkeypatch):
    sigv4._key_cache.clear()
    calls = []
    real = sigv4._hmac
    monkeypatch.setattr(sigv4, "_hmac", lambda key, msg: calls.append(msg) or real(key, msg))
    creds = Credentials(ACCESS, SECRET)
    for _ in range(3):
        sign("GET", "https://b.s3.amazonaws.com/k", region="us-east-1", service="s3", credentials=creds, now=MAY_24_2013)
    assert calls == ["20130524", "us-east-1", "s3", "aws4_request"]
    sign("GET", "https://b.s3.amazonaws.com/k", region="eu-west-1", service="s3", credentials=creds, now=MAY_24_2013)
    assert len(calls) == 8


def test_credentials_come_from_the_lambda_environment():
    creds = credentials_from_env({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T", "AWS_REGION": "eu-central-1"})
    assert creds == Credentials("A", "S", "T")
    assert credentials_from_env({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S"}).session_token is None
    with pytest.raises(SigV4Error):
        credentials_from_env({"AWS_ACCESS_KEY_ID": "A"})


def test_secrets_stay_out_of_the_repr():
    text = repr(Credentials("AKID", "very-secret", "very-token"))
    assert "very-secret" not in text and "very-token" not in text
