"""E-mail code sign-in end to end: the real local gateway running
edge_runtime (bodies included under /_gatehouse/), configs in S3 and SES on
moto's server, and Debian's Chromium. The code is read back from moto's sent
messages (`/moto-api/data.json`, the `ses` backend's `Message` rows)."""

import json
import re
import time
import urllib.request

import boto3
import pytest

from tests.e2e.support import gateway_start, s3_client
from tests.edge.factories import config_doc
from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.e2e

BUCKET = "gatehouse-config-e2e-email"
DIST = "E2EEMAILDIST"
HOST = "mail-demo.localhost"
SENDER = "sign-in@gatehouse.localhost"
SIGNING_KEY = "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"


def sent_to(endpoint_url, address):
    with urllib.request.urlopen(endpoint_url + "/moto-api/data.json", timeout=10) as response:
        messages = json.load(response)["ses"]["Message"]
    return [m for m in messages if address in m["destinations"].get("ToAddresses", [])]


def code_from(message):
    return re.search(r"([0-9A-Z]{4}-[0-9A-Z]{4})", message["body"]).group(1)


@pytest.fixture(scope="module")
def edge(moto_server, tmp_path_factory):
    # A fresh moto: the session's server holds every earlier test's state,
    # and /moto-api/data.json (read for the codes) can fail on some of it.
    moto_server.reset()
    s3 = s3_client(moto_server.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    ses = boto3.client("sesv2", endpoint_url=moto_server.endpoint_url, region_name="eu-west-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    work = tmp_path_factory.mktemp("edge-email")
    folder = work / "origin" / "builds" / "b1"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>Mail demo</title><h1>Mail demo</h1>")
    gateway = gateway_start(
        work, bucket=BUCKET, prefix="sites/", endpoint_url=moto_server.endpoint_url,
        args=["--origin-dir", str(work / "origin"), "--distribution-id", DIST],
    )
    doc = config_doc(
        site={"id": "mail-demo", "hosts": [HOST], "distribution_id": DIST, "build": {"id": "b1", "prefix": "builds/b1"}, "spa": True},
        provider=None,
        signin_methods=["email_code"],
        email_code={"sender": SENDER, "region": "eu-west-1", "code_lifetime_seconds": 600,
                    "max_sends_per_transaction": 3, "max_sends_per_address": 5},
        identity_assertion={"path_prefixes": ["/api/"], "lifetime_seconds": 300, "kid": "ia1", "signing_key": SIGNING_KEY},
        access={"emails": ["ann@client.example"], "email_domains": [], "allow_any_user": False},
    )
    s3.put_object(Bucket=BUCKET, Key=f"sites/{HOST}.json", Body=json.dumps(doc).encode())

    class Edge:
        url = f"http://{HOST}:{gateway.port}"

        @staticmethod
        def ready():
            # moto's reset between tests may drop the identity: verify it again.
            ses.create_email_identity(EmailIdentity=SENDER)

    yield Edge
    gateway.stop()


def ask_for_code(page, edge, address):
    page.goto(f"{edge.url}/reports/q3")
    page.wait_for_url(f"{edge.url}/_gatehouse/sign-in*")
    page.get_by_label("E-mail address").fill(address)
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_load_state()
    return page.inner_text("main")


def test_a_viewer_signs_in_with_a_code_read_back_from_moto(edge, moto_server, page):
    edge.ready()
    before = len(sent_to(moto_server.endpoint_url, "ann@client.example"))
    screenshot_text = ask_for_code(page, edge, "ann@client.example")
    assert "If ann@client.example may open this demo, a code is on its way to it." in screenshot_text
    screenshot(page, "edge-email-code-sent")
    deadline = time.monotonic() + 10
    while len(messages := sent_to(moto_server.endpoint_url, "ann@client.example")) == before:
        assert time.monotonic() < deadline, "no message reached moto"
        time.sleep(0.2)
    message = messages[-1]
    assert message["source"] == SENDER
    page.get_by_label("Code").fill(code_from(message))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{edge.url}/reports/q3")
    assert page.get_by_role("heading", name="Mail demo").is_visible()
    me = page.evaluate("fetch('/_gatehouse/me').then(r => r.json())")
    assert me["email"] == "ann@client.example" and me["via"] == "email_code"
    jwks = page.evaluate("fetch('/_gatehouse/jwks.json').then(r => r.json())")
    assert jwks["keys"][0]["kid"] == "ia1"
    screenshot(page, "edge-email-code-signed-in")


def test_an_unlisted_address_gets_the_same_page_text_and_no_message(edge, moto_server, browser):
    edge.ready()
    texts = {}
    for address in ("ann@client.example", "mallory@evil.example"):
        context = browser.new_context()
        page = context.new_page()
        try:
            texts[address] = ask_for_code(page, edge, address).replace(address, "ADDRESS")
        finally:
            context.close()
    assert texts["ann@client.example"] == texts["mallory@evil.example"]
    assert sent_to(moto_server.endpoint_url, "mallory@evil.example") == []
