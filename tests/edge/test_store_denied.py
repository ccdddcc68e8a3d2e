"""A denied S3 read is an outage, never "no such site": against moto with IAM enforced.

moto checks no IAM by default, so this module starts its own moto server and
switches its authorization on (``/moto-api/reset-auth``, moto's
``INITIAL_NO_AUTH_ACTION_COUNT``) after setting up a bucket, an admin and an
"edge" IAM user whose inline policy is ``docs/iam/edge-role-policy.json``. The
edge then signs with that user's keys, and moto verifies the signature and
the policy of every request. Breaking the policy (the IAM mistake of the
issue) makes moto answer 403 AccessDenied, as S3 does.

moto does not model two things, said here rather than faked: S3's rule that
a missing key is a 404 only for a caller with s3:ListBucket (moto answers
404 to anyone allowed s3:GetObject), and KMS errors on reading an SSE-KMS
object. Both come down to a non-404 answer with an S3 error code, which the
stub-fetcher tests in test_store.py cover.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from edge_runtime.settings import settings_from_dict
from edge_runtime.sigv4 import Credentials
from edge_runtime.store import ConfigStore, ConfigUnavailable, S3Fetcher
from tests.edge.site_docs import site_doc
from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "gatehouse-config-denied"
REGION = "eu-west-1"
HOST = "demo.example.com"
ACCOUNT = "123456789012"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def documented_edge_policy():
    text = (ROOT / "docs" / "iam" / "edge-role-policy.json").read_text()
    values = {
        "CONFIG_BUCKET": BUCKET,
        "CONFIG_PREFIX": "sites/",
        "CONFIG_KEY_ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0a1b2c3d-0000-0000-0000-000000000000",
        "ACCOUNT_ID": ACCOUNT,
        "EDGE_FUNCTION": "gatehouse-edge",
        "SES_REGION": "eu-west-1",
        "SES_SENDER": "sign-in@consultancy.example",
    }
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text
    return text


@pytest.fixture(scope="module")
def enforcing_moto():
    port = free_port()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("moto.server did not start") from None
                time.sleep(0.1)
        root = dict(endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        s3, iam = boto3.client("s3", **root), boto3.client("iam", **root)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key=f"sites/{HOST}.json", Body=json.dumps(site_doc(HOST)).encode())
        keys = {}
        for user, policy in (
            ("admin", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
            ("edge", documented_edge_policy()),
        ):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="gatehouse", PolicyDocument=policy)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (key["AccessKeyId"], key["SecretAccessKey"])
        # From here on moto checks the signature and the IAM policy of every request.
        request = urllib.request.Request(
            url + "/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(request, timeout=10).read()
        admin = dict(endpoint_url=url, region_name=REGION, aws_access_key_id=keys["admin"][0], aws_secret_access_key=keys["admin"][1])
        yield {"url": url, "edge": Credentials(*keys["edge"], None), "iam": boto3.client("iam", **admin)}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def edge_policy(enforcing_moto):
    """Put an inline policy on the edge user; the documented one is restored afterwards."""
    iam = enforcing_moto["iam"]

    def put(document):
        iam.put_user_policy(UserName="edge", PolicyName="gatehouse", PolicyDocument=document)

    yield put
    put(documented_edge_policy())


def make_store(enforcing_moto, clock):
    settings = settings_from_dict(
        {
            "config_bucket": BUCKET,
            "config_prefix": "sites/",
            "config_region": REGION,
            "endpoint_url": enforcing_moto["url"],
            "cache_ttl_seconds": 60,
            "stale_ttl_seconds": 600,
            "missing_ttl_seconds": 15,
            "fetch_timeout_seconds": 2,
        }
    )
    return ConfigStore(settings, clock=clock, fetcher=S3Fetcher(settings, enforcing_moto["edge"]))


WITHOUT_GET_OBJECT = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
)


def log_lines(err):
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_the_documented_edge_policy_reads_configs_and_missing_hosts_are_404s(enforcing_moto, capsys):
    store = make_store(enforcing_moto, Clock())
    assert store.get(HOST).hosts == (HOST,)
    assert store.get("nobody.example.com") is None
    assert capsys.readouterr().err == ""


def test_an_iam_mistake_serves_the_last_good_config_and_logs_the_denial(enforcing_moto, edge_policy, capsys):
    clock = Clock()
    store = make_store(enforcing_moto, clock)
    good = store.get(HOST)
    edge_policy(WITHOUT_GET_OBJECT)
    clock.now += 61
    assert store.get(HOST) is good
    (line,) = log_lines(capsys.readouterr().err)
    assert line["gatehouse"] == "config_access_denied" and line["level"] == "error"
    assert line["status"] == 403 and line["s3_error"] == "AccessDenied"
    assert line["host"] == HOST and line["serving_stale"] is True
    # Nothing of the request's credentials or signature is in the line.
    text = json.dumps(line)
    assert enforcing_moto["edge"].access_key not in text and enforcing_moto["edge"].secret_key not in text
    assert "Signature" not in text and "Credential" not in text


def test_a_denied_host_with_nothing_cached_is_unavailable_not_missing(enforcing_moto, edge_policy, capsys):
    clock = Clock()
    store = make_store(enforcing_moto, clock)
    edge_policy(WITHOUT_GET_OBJECT)
    for host in (HOST, "nobody.example.com"):
        with pytest.raises(ConfigUnavailable):
            store.get(host)
    assert [line["s3_error"] for line in log_lines(capsys.readouterr().err)] == ["AccessDenied", "AccessDenied"]
    # Once IAM is fixed, the next fetch after the retry pause sees the site again.
    edge_policy(documented_edge_policy())
    clock.now += 1
    assert store.get(HOST).hosts == (HOST,)
    assert store.get("nobody.example.com") is None


def test_unknown_credentials_are_a_denial_too(enforcing_moto, capsys):
    clock = Clock()
    settings = make_store(enforcing_moto, clock).settings
    store = ConfigStore(settings, clock=clock, fetcher=S3Fetcher(settings, Credentials("AKIAUNKNOWN000000000", "x" * 40, None)))
    with pytest.raises(ConfigUnavailable):
        store.get(HOST)
    (line,) = log_lines(capsys.readouterr().err)
    assert line["gatehouse"] == "config_access_denied" and line["s3_error"] == "InvalidAccessKeyId"
    assert "AKIAUNKNOWN" not in json.dumps(line)
