"""An invitation end to end, for a site that signs in by e-mail code only (no
identity provider): staff invite an address on the site page in Chromium;
the console publishes the new allowed list to the config bucket on moto and
sends the invitation through moto's SES; the test reads that message back
from moto, follows its link through the local gateway, signs in with the
code the edge sends (also read back from moto); the gateway ships the
sign-in to moto's CloudWatch Logs, the collector task reads it, and the site
page shows the invitee's first sign-in.

What is not the production path: Celery runs eagerly in the console's own
process (the live server thread), so the config upload and the invitation
send are the real tasks and services, run in place rather than on a worker
(the session's worker process cannot be given this test's gateway port for
the invitation's link). The collector task is called by the test, as
test_visits.py does, instead of by beat.
"""

import email
import email.policy
import json
import re
import time
import urllib.request
from datetime import timedelta

import boto3
import pytest
from celery import current_app
from django.utils import timezone
from playwright.sync_api import expect

from sites import aws
from sites.models import Build, Invitation, ProtectedSite, Visit
from sites.roles import OPERATOR, role_assign
from sites.services.site_actions import build_make_live
from sites.services.sites import site_create
from sites.tasks import visits_collect_task
from tests.e2e.support import gateway_start
from tests.e2e.test_console_pages import sign_in_to_console
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SLUG = "e2e-invite"
HOST = "invite.localhost"
DIST = "E2EINVITE"
RAN_IN = "eu-west-1"
SES_REGION = "eu-west-1"
CODE_SENDER = "sign-in@gatehouse.localhost"
INVITE_SENDER = "demos@gatehouse.localhost"
CAROL = "carol@client.example"


def moto_data(endpoint_url):
    with urllib.request.urlopen(endpoint_url + "/moto-api/data.json", timeout=10) as response:
        return json.load(response).get("ses") or {}


def invitations_to(endpoint_url, address):
    """The raw (MIME) messages moto's SES holds for `address`, parsed."""
    raw = moto_data(endpoint_url).get("RawMessage") or []
    messages = [email.message_from_string(m["raw_data"], policy=email.policy.default) for m in raw]
    return [m for m in messages if m["To"] == address]


def codes_to(endpoint_url, address):
    """The simple messages (the edge's codes) moto's SES holds for `address`."""
    messages = moto_data(endpoint_url).get("Message") or []
    return [m for m in messages if address in m["destinations"].get("ToAddresses", [])]


def wait_for(what, predicate, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def eager_tasks():
    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture
def edge(moto_reset, local_aws, settings, tmp_path, eager_tasks):
    # A fresh moto first: the session's server holds every earlier test's
    # state, and its /moto-api/data.json (read below for the e-mails) can
    # fail on some of it (a 500 seen in CI after the whole suite).
    settings.GATEHOUSE_SES_REGION = SES_REGION
    settings.GATEHOUSE_SES_SENDER = CODE_SENDER
    settings.GATEHOUSE_EMAIL_FROM = INVITE_SENDER
    settings.GATEHOUSE_CONSULTANCY_NAME = "Northwind Consulting"
    settings.GATEHOUSE_EDGE_LOG_REGIONS = ["us-east-1", RAN_IN]
    ses = boto3.client("sesv2", endpoint_url=local_aws.endpoint_url, region_name=SES_REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for identity in (CODE_SENDER, INVITE_SENDER):
        try:
            ses.create_email_identity(EmailIdentity=identity)
        except ses.exceptions.AlreadyExistsException:
            pass
    aws.config_bucket_ensure()
    folder = tmp_path / "origin" / "builds" / "invite-1"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>Invite demo</title><h1>Invite demo</h1>")
    gateway = gateway_start(
        tmp_path, bucket=aws.config_bucket_name(), prefix=aws.config_prefix(), endpoint_url=local_aws.endpoint_url,
        args=["--origin-dir", str(tmp_path / "origin"), "--distribution-id", DIST,
              "--logs-region", RAN_IN, "--function-name", aws.function_name_for_index(0)],
    )
    settings.GATEHOUSE_EDGE_PUBLIC_SCHEME = "http"
    settings.GATEHOUSE_EDGE_PUBLIC_PORT = gateway.port

    # The site as onboarding makes it with "e-mail code" chosen: no provider.
    site = site_create(
        client="Acme", name="Invite demo", slug=SLUG, hosts=[HOST], provider=None, signin_methods=["email_code"],
        emails=["ann@client.example"], distribution_id=DIST, status=ProtectedSite.Status.LIVE,
        not_after=timezone.now() + timedelta(days=30),
    )
    build = Build.objects.create(site=site, status=Build.Status.READY, prefix="builds/invite-1", file_count=1)
    build_make_live(site=site, build=build, actor=None)
    yield site, f"http://{HOST}:{gateway.port}"
    gateway.stop()


def published_emails(endpoint_url):
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    try:
        body = s3.get_object(Bucket=aws.config_bucket_name(), Key=aws.config_object_key(HOST))["Body"].read()
    except s3.exceptions.NoSuchKey:
        return []
    return json.loads(body)["access"]["emails"]


def signed_in_lines(endpoint_url):
    logs = boto3.client("logs", endpoint_url=endpoint_url, region_name=RAN_IN,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    group = aws.edge_log_group_name(aws.function_name_for_index(0))
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    lines = [json.loads(e["message"]) for e in events if e["message"].startswith("{")]
    return [line for line in lines if line.get("visit") == 1 and line.get("gatehouse") == "signed_in"
            and line.get("email") == CAROL]


def test_an_invitee_follows_the_invitation_signs_in_with_a_code_and_staff_see_the_first_sign_in(
    edge, local_aws, browser, live_server, django_user_model,
):
    site, site_url = edge
    endpoint = local_aws.endpoint_url
    already = len(invitations_to(endpoint, CAROL))

    # Staff invite Carol on the site page.
    olga = django_user_model.objects.create_user("olga", "olga@consultancy.example", "olga-password-1", is_staff=True)
    role_assign(user=olga, role=OPERATOR)
    console = browser.new_context()
    staff_page = console.new_page()
    sign_in_to_console(staff_page, live_server, "olga", "olga-password-1", path=f"/sites/{SLUG}/")
    expect(staff_page.locator("#site-signin-methods")).to_contain_text("With a code sent by e-mail (no identity provider)")
    staff_page.get_by_label("E-mail addresses").fill(CAROL)
    staff_page.get_by_role("button", name="Invite", exact=True).click()
    row = staff_page.locator(f'[data-invitation="{CAROL}"]')
    expect(row).to_contain_text("sent")
    expect(row.locator('[data-label="First signed in"]')).to_have_text("not yet")
    assert Invitation.objects.get(site=site, email=CAROL).status == "sent"

    # The console published the new allowed list, and moto holds the invitation.
    wait_for("the config with Carol in S3", lambda: CAROL in published_emails(endpoint))
    message = wait_for("the invitation in moto", lambda: invitations_to(endpoint, CAROL)[already:] or None)[-1]
    assert message["From"] == f"Northwind Consulting <{INVITE_SENDER}>"
    assert "Invite demo" in message["Subject"]
    parts = {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    text = parts["text/plain"]
    assert f"{site_url}/" in text and "Invite demo" in text
    assert f"type {CAROL}" in text and "code" in text
    assert f"Access ends on {site.not_after:%-d %B %Y}" in text
    link = re.search(r"(http://\S+)", text).group(1)
    assert link == f"{site_url}/"
    assert f'href="{site_url}/"' in parts["text/html"]

    # Carol follows the link: the edge's sign-in page, a code by e-mail, the demo.
    viewer = browser.new_context()
    page = viewer.new_page()
    codes_before = len(codes_to(endpoint, CAROL))
    page.goto(link)
    page.wait_for_url(f"{site_url}/_gatehouse/sign-in*")
    page.get_by_label("E-mail address").fill(CAROL)
    page.get_by_role("button", name="Send me a code").click()
    page.wait_for_load_state()
    code_message = wait_for("the code in moto", lambda: codes_to(endpoint, CAROL)[codes_before:] or None)[-1]
    assert code_message["source"] == CODE_SENDER
    code = re.search(r"([0-9A-Z]{4}-[0-9A-Z]{4})", code_message["body"]).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site_url}/")
    expect(page.get_by_role("heading", name="Invite demo")).to_be_visible()
    screenshot(page, "edge-invitee-signed-in")
    viewer.close()

    # The sign-in reaches the site page through CloudWatch Logs and the collector.
    wait_for("the gateway to ship Carol's sign-in", lambda: signed_in_lines(endpoint), timeout=20)
    assert visits_collect_task.apply().get() >= 1
    visit = Visit.objects.get(site=site, email=CAROL, kind="signed_in")
    assert visit.method == "email_code"
    staff_page.reload()
    row = staff_page.locator(f'[data-invitation="{CAROL}"]')
    expect(row.locator('[data-label="First signed in"]')).not_to_have_text("not yet")
    expect(staff_page.locator(f'[data-visitor="{CAROL}"]')).to_contain_text("e-mail code")
    screenshot(staff_page, "console-invitee-first-sign-in")
    console.close()
