"""Who viewed, end to end: a viewer signs in at devidp through the local gateway, which
ships the edge's lines to moto's CloudWatch Logs (the region it "ran" in, the group
Lambda@Edge uses); the collector task reads every region into the visits table; staff
see the sign-in and the refusal, as sentences, on the site page in Chromium."""

import json
import time

import boto3
import pytest
from playwright.sync_api import expect

from sites import aws
from sites.models import IdentityProvider, ProtectedSite, Visit
from sites.roles import VIEWER, role_assign
from sites.tasks import visits_collect_task
from tests.e2e.support import gateway_start, s3_client
from tests.e2e.test_console_pages import sign_in_to_console
from tests.e2e.test_edge_signin import fetch_json, sign_in_at_provider
from tests.edge.factories import config_doc
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BUCKET = "gatehouse-config-visits"
DIST = "E2EVISITS"
SLUG = "e2e-visits"
HOST = "visits.localhost"
RAN_IN = "eu-west-1"


@pytest.fixture
def edge(idp, local_aws, settings, tmp_path):
    settings.GATEHOUSE_EDGE_LOG_REGIONS = ["us-east-1", RAN_IN]
    s3 = s3_client(local_aws.endpoint_url)
    s3.create_bucket(Bucket=BUCKET)
    origin = tmp_path / "origin"
    (origin / "builds" / "b1").mkdir(parents=True)
    (origin / "builds" / "b1" / "index.html").write_text("<!doctype html><title>Visits</title><h1>Visits demo</h1>")
    gateway = gateway_start(
        tmp_path, bucket=BUCKET, prefix="sites/", endpoint_url=local_aws.endpoint_url,
        args=["--origin-dir", str(origin), "--distribution-id", DIST,
              "--logs-region", RAN_IN, "--function-name", aws.function_name_for_index(0)],
    )
    discovery = idp.discovery
    doc = config_doc(
        site={"id": SLUG, "hosts": [HOST], "distribution_id": DIST, "build": {"id": "b1", "prefix": "builds/b1"}, "spa": True},
        provider={
            "issuer": discovery["issuer"],
            "authorization_endpoint": discovery["authorization_endpoint"],
            "token_endpoint": discovery["token_endpoint"],
            "userinfo_endpoint": discovery.get("userinfo_endpoint"),
            "end_session_endpoint": discovery.get("end_session_endpoint"),
            "jwks_uri": discovery["jwks_uri"],
            "client_id": idp.client_id,
            "client_secret": idp.client_secret,
            "token_endpoint_auth_method": "client_secret_basic",
            "scopes": ["openid", "email", "profile"],
            "authorize_params": {},
            "jwks": fetch_json(discovery["jwks_uri"]),
            "id_token_algs": ["RS256"],
            "tenant_id": None,
        },
        access={"emails": ["ann@client.example"], "email_domains": [], "allow_any_user": False},
    )
    s3.put_object(Bucket=BUCKET, Key=f"sites/{HOST}.json", Body=json.dumps(doc).encode())
    # The console's row for the same site (bulk_create: no publish, the config above is the edge's).
    (provider,) = IdentityProvider.objects.bulk_create(
        [IdentityProvider(name="devidp", issuer=discovery["issuer"], client_id=idp.client_id)]
    )
    ProtectedSite.objects.bulk_create(
        [ProtectedSite(client="Acme", name="Visits demo", slug=SLUG, hosts=[HOST], provider=provider, emails=["ann@client.example"])]
    )
    yield f"http://{HOST}:{gateway.port}"
    gateway.stop()


def edge_log_messages(endpoint_url, region):
    logs = boto3.client("logs", endpoint_url=endpoint_url, region_name=region)
    group = aws.edge_log_group_name(aws.function_name_for_index(0))
    try:
        return [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def wait_for_lines(endpoint_url, kinds, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [json.loads(m) for m in edge_log_messages(endpoint_url, RAN_IN) if m.startswith("{")]
        if kinds <= {line.get("gatehouse") for line in lines if line.get("visit") == 1}:
            return lines
        time.sleep(0.3)
    pytest.fail(f"the gateway never shipped {kinds} to CloudWatch Logs")


def test_a_sign_in_and_a_refusal_reach_the_site_page_through_cloudwatch_logs(edge, local_aws, browser, live_server, django_user_model):
    viewer = browser.new_context()
    page = viewer.new_page()
    page.goto(edge + "/")
    sign_in_at_provider(page, "ann")
    page.wait_for_url(edge + "/")
    expect(page.get_by_role("heading", name="Visits demo")).to_be_visible()
    viewer.close()

    refused = browser.new_context()
    page = refused.new_page()
    page.goto(edge + "/")
    sign_in_at_provider(page, "eve")
    page.wait_for_url(edge + "/_gatehouse/callback*")
    assert "No access" in page.content()
    refused.close()

    lines = wait_for_lines(local_aws.endpoint_url, {"signed_in", "session_start", "refused"})
    assert edge_log_messages(local_aws.endpoint_url, "us-east-1") == []  # it "ran" in eu-west-1 only
    assert all("__Host-gh" not in json.dumps(line) for line in lines)

    assert visits_collect_task.apply().get() >= 3
    assert visits_collect_task.apply().get() == 0  # read again: nothing new
    kinds = sorted(Visit.objects.filter(site__slug=SLUG).values_list("kind", "email"))
    assert ("signed_in", "ann@client.example") in kinds and ("session_start", "ann@client.example") in kinds
    assert ("refused", "eve@evilexample.com") in kinds
    assert set(Visit.objects.values_list("region", flat=True)) == {RAN_IN}

    staff = django_user_model.objects.create_user("vera", "vera@consultancy.example", "vera-password-1", is_staff=True)
    role_assign(user=staff, role=VIEWER)
    console = browser.new_context()
    page = console.new_page()
    sign_in_to_console(page, live_server, "vera", "vera-password-1", path=f"/sites/{SLUG}/")
    ann = page.locator('[data-visitor="ann@client.example"]')
    expect(ann).to_contain_text("identity provider")
    expect(ann.locator('[data-label="Sign-ins"]')).to_have_text("1")
    expect(page.locator('[data-refused="eve@evilexample.com"]')).to_contain_text(
        "Neither the address nor its domain is on the allowed list."
    )
    screenshot(page, "console-site-visits")
    console.close()
