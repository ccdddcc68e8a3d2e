"""README.md's Quickstart, step 2, followed as written (issue 8, staff experience 1).

The stack `make run` starts, from the test's fixtures: the console
(``live_server``), a Celery worker, moto's server, the edge gateway and
devidp; `manage.py dev_seed` makes the staff login and the "Local dev
provider (devidp)" exactly as scripts/run-dev does. Then, in Chromium:
Onboard, host name acme.localhost (no certificate), that provider, allowed
e-mail domain client.example, a zip of a built site; watch the deployment
go live; open http://acme.localhost:<gateway port>/ and sign in as ann /
demo-password.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from sites.models import ProtectedSite
from tests.e2e.support import site_zip
from tests.fixtures.browser import screenshot
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PROVISION_MS = 150_000


def test_the_readme_quickstart_onboards_acme_localhost_and_ann_signs_in(
    celery_worker_process, gateway, idp, live_server, page, tmp_path
):
    worker = celery_worker_process
    credentials = tmp_path / "credentials"
    call_command("dev_seed", credentials_file=str(credentials), idp_issuer=idp.issuer)
    # The first line is admin's (the demo operator and viewer follow).
    username, password = credentials.read_text().splitlines()[0].split()

    # Step 1 prints the staff login; sign in with it.
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Sites", level=1)).to_be_visible()

    # Step 2: Onboard, a client and a site name, host name acme.localhost,
    # provider "Local dev provider (devidp)", allowed e-mail domain
    # client.example, a zip of the built site.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Onboard").click()
    page.get_by_label("Client", exact=True).fill("Acme")
    page.get_by_label("Site name").fill("Q3 demo")
    page.get_by_label("Custom host names").fill("acme.localhost")
    # The option reads "Local dev provider (devidp) (Generic OpenID Connect)"; as the only provider it is chosen already.
    choice = page.get_by_label("Identity provider")
    option = choice.locator("option", has_text="Local dev provider (devidp)")
    expect(option).to_have_count(1)
    choice.select_option(option.get_attribute("value"))
    page.get_by_label("Allowed email domains").fill("client.example")
    page.get_by_label("Built site (.zip)").set_input_files(
        {"name": "site.zip", "mimeType": "application/zip", "buffer": site_zip("Acme Q3 demo")}
    )
    screenshot(page, "readme-onboard")
    page.get_by_role("button", name="Create site and start provisioning").click()
    expect(page.get_by_role("heading", name="Q3 demo", level=1)).to_be_visible()

    # Watch the deployment go live (the page follows it by itself).
    try:
        expect(page.locator(".site-status [data-status]").first).to_have_attribute("data-status", "live", timeout=PROVISION_MS)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nworker log:\n{worker.log()}") from None
    site_url = f"http://acme.localhost:{gateway.port}/"
    expect(page.get_by_role("link", name=site_url)).to_be_visible()
    screenshot(page, "readme-site-live")
    slug = ProtectedSite.objects.get().slug
    wait_for(
        lambda: ProtectedSite.objects.filter(slug=slug, live_build__isnull=False).exists()
        and not ProtectedSite.objects.get(slug=slug).revisions.filter(upload_status__in=["pending", "uploading"]).exists(),
        timeout=60, worker=worker, what="the build and its config",
    )

    # Open http://acme.localhost:<port>/ and sign in as ann / demo-password.
    viewer = page.context.new_page()
    viewer.goto(site_url)
    assert viewer.url.startswith(f"http://localhost:{idp.port}/"), viewer.url
    viewer.get_by_label("Username").fill("ann")
    viewer.get_by_label("Password").fill("demo-password")
    viewer.get_by_role("button", name="Sign in").click()
    viewer.wait_for_url(re.compile(re.escape(site_url)))
    for _ in range(20):
        if "Acme Q3 demo" in viewer.content():
            break
        viewer.wait_for_timeout(500)
        viewer.goto(site_url)
    expect(viewer.get_by_role("heading", name="Acme Q3 demo")).to_be_visible()
    screenshot(viewer, "readme-site-served")
