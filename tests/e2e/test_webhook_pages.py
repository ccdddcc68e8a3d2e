"""The webhook pages in a real browser: an Admin adds an endpoint, copies its secret, reads the log, redelivers.

The console is pytest-django's live_server; the receiver is a process of its
own (tests/fixtures/webhook_receiver.py) that checks each signature with the
standardwebhooks library against the secret copied from the page. Deliveries
run in place (Celery's eager apply) in the console's process.
Screenshots: test-artifacts/screenshots/webhooks-*.png.
"""

import re

import pytest
from playwright.sync_api import expect

from sites.roles import ADMIN, role_assign
from sites.services import webhooks
from tests.console.webhooks_support import receivers  # noqa: F401
from tests.fixtures.browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "admin-password-1"


@pytest.fixture
def tasks_run_in_place():
    from celery import current_app

    previous = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = previous


@pytest.fixture
def admin_user(django_user_model):
    user = django_user_model.objects.create_user("ada", "ada@consultancy.example", PASSWORD, is_staff=True)
    role_assign(user=user, role=ADMIN)
    return user


def _sign_in(page, live_server):
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def test_an_admin_adds_an_endpoint_copies_its_secret_and_redelivers_from_the_log(
    live_server, page, admin_user, settings, receivers, tmp_path, tasks_run_in_place  # noqa: F811
):
    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = True
    secret_file = tmp_path / "secret"
    secret_file.write_text("")
    receiver = receivers(secret_file=str(secret_file))

    _sign_in(page, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.get_by_role("link", name="Add endpoint").click()
    page.get_by_label("URL").fill("http://10.1.2.3/in")
    page.get_by_label("Build live").check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.locator("#id_url_error")).to_contain_text("must use https")
    screenshot(page, "webhooks-field-error")

    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("our deploy bot")
    page.get_by_role("button", name="Add endpoint").click()
    secret = page.locator("#new-secret").inner_text()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    screenshot(page, "webhooks-secret-once")
    secret_file.write_text(secret)  # what a person pastes into their receiver

    webhooks.event_emit(event_type="build.live", data={"site": {"slug": "acme-demo"}, "build": {"number": 3}})
    page.get_by_role("link", name="Done: show the endpoint").click()
    row = page.locator("tr[data-delivery]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-attempt='1']")).to_contain_text("HTTP 200")
    assert secret not in page.content()

    row.get_by_role("button", name=re.compile("Redeliver")).click()
    expect(page.locator(".message")).to_contain_text("being sent again")
    expect(page.locator("tr[data-delivery] [data-attempt]")).to_have_count(2)
    screenshot(page, "webhooks-delivery-log")
    got = receiver.received()
    assert [r["verified"] for r in got] == [True, True] and len({r["headers"]["webhook-id"] for r in got}) == 1

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    expect(page.locator("tr[data-endpoint]")).to_contain_text("1 delivered")
    screenshot(page, "webhooks-list")
