"""Webhooks in the test process: signing, Slack messages, the address guard, the events, the pages.

Deliveries here run in place (Celery's eager apply, its own autoretry) and go
to a real receiver process (tests/fixtures/webhook_receiver.py) on loopback,
which GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK lets through. Retries through a real
worker: tests/console/test_webhooks_worker.py.
"""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from sites.models import Activity, Deployment, Invitation, Visit, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sites.outbound import address_is_public
from sites.services import webhook_delivery, webhooks
from tests.console.pages_support import live_site, release  # noqa: F401
from tests.console.roles_support import ada, olga, vic  # noqa: F401
from tests.console.webhooks_support import endpoint_make, receivers  # noqa: F401

pytestmark = pytest.mark.django_db

DELIVER = "sites.tasks.webhook_deliver_task"


@pytest.fixture
def loopback(settings):
    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = True
    return settings


def _deliver(delivery_id: int):
    from sites.tasks import webhook_deliver_task

    webhook_deliver_task.apply(args=[delivery_id])
    return WebhookDelivery.objects.get(pk=delivery_id)


def _emit(capture, event_type="build.live", data=None):
    with capture(execute=True):
        webhooks.event_emit(event_type=event_type, data=data or {"site": {"slug": "acme-demo"}})


# --- Signing --------------------------------------------------------------------------------------


def test_the_signature_is_the_standard_webhooks_scheme_checked_without_the_library():
    secret = webhooks.secret_generate()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    body = b'{"type":"build.live"}'
    at = datetime(2026, 12, 2, 15, 0, 0, tzinfo=UTC)
    headers = webhook_delivery.signed_headers(secret=secret, message_id="msg_1", body=body, at=at)
    assert headers["webhook-id"] == "msg_1" and headers["webhook-timestamp"] == str(int(at.timestamp()))
    expected = hmac.new(base64.b64decode(secret[6:]), f"msg_1.{int(at.timestamp())}.".encode() + body, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_a_signature_under_another_secret_does_not_verify():
    body = b'{"type":"build.live"}'
    headers = webhook_delivery.signed_headers(secret=webhooks.secret_generate(), message_id="msg_1", body=body, at=timezone.now())
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(webhooks.secret_generate()).verify(body, headers)


def test_a_failed_attempt_is_retried_in_place_and_each_attempt_recorded(loopback, receivers, django_capture_on_commit_callbacks, tasks_run_in_place):  # noqa: F811
    endpoint, secret = endpoint_make(url="http://127.0.0.1:1/")
    receiver = receivers(secret=secret, fail_first=1)
    endpoint.url = receiver.url
    endpoint.save()
    _emit(django_capture_on_commit_callbacks)  # eager: sent on commit, retried at once
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "succeeded"
    assert [a.response_code for a in delivery.attempt_rows.all()] == [500, 200]
    assert [r["verified"] for r in receiver.received()] == [True, True]


# --- Slack ----------------------------------------------------------------------------------------


def _payload(event_type, data):
    return {"type": event_type, "timestamp": "2026-12-02T15:00:00Z", "data": data}


SITE = {"slug": "acme-demo", "name": "Demo", "client": "Acme <Corp>", "address": "https://demo.acme.example/",
        "console_url": "https://console.example/sites/acme-demo/"}


@pytest.mark.parametrize(
    "event_type, data, words",
    [
        ("deployment.failed", {"site": SITE, "deployment": {"id": 4, "kind": "build", "message": "Upload files: AccessDenied", "started_by": "ada"}},
         ["Deployment failed", "Build of", "AccessDenied", "ada"]),
        ("deployment.succeeded", {"site": SITE, "deployment": {"id": 5, "kind": "provision", "started_by": None}}, ["Deployment succeeded", "system"]),
        ("build.live", {"site": SITE, "build": {"number": 7, "message": "Fix the header", "commit": "0123456789abcdef"}, "made_live_by": "ada"},
         ["Build live", "Build 7 is live", "Fix the header", "0123456789ab"]),
        ("access.ending_soon", {"site": SITE, "access": {"not_after": "2026-12-05T00:00:00Z", "days_left": 3}}, ["ends in 3 days"]),
        ("invitee.first_visit", {"site": SITE, "invitee": {"email": "ann@client.example"}, "visit": {"occurred_at": "x", "kind": "signed_in"}},
         ["ann@client.example opened", "for the first time"]),
    ],
)
def test_each_event_reads_as_a_slack_message(event_type, data, words):
    message = webhook_delivery.slack_message(_payload(event_type, data))
    assert set(message) == {"text", "blocks"}
    assert message["blocks"][0]["type"] == "header"
    everything = json.dumps(message)
    for word in words:
        assert word in everything
    # mrkdwn markup in a client's name is escaped; the link to the console is Slack's <url|name>.
    assert "Acme &lt;Corp&gt;" in everything and "<https://console.example/sites/acme-demo/|" in message["blocks"][1]["text"]["text"]


def test_a_slack_endpoint_gets_the_message_unsigned(loopback, receivers, django_capture_on_commit_callbacks, tasks_run_in_place):  # noqa: F811
    receiver = receivers()  # a Slack receiver: nothing to verify
    endpoint, secret = endpoint_make(url=receiver.url, kind="slack", events=["build.live"])
    assert secret == "" and endpoint.secret_encrypted == ""
    _emit(django_capture_on_commit_callbacks, data={"site": SITE, "build": {"number": 7}})
    (got,) = receiver.received()
    assert "webhook-signature" not in got["headers"]
    body = json.loads(got["body"])
    assert body["text"].startswith(":rocket: Build live") and body["blocks"]
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "succeeded"


# --- The address guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "127.0.0.1", "::1", "fc00::1", "fe80::1",
     "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:a00:1::1", "::a00:1", "224.0.0.1", "0.0.0.0"],
)
def test_private_and_local_addresses_are_refused_in_every_disguise(ip):
    assert not address_is_public(ip)


def test_public_addresses_pass_and_loopback_only_when_allowed():
    assert address_is_public("93.184.216.34") and address_is_public("2606:2800:220:1:248:1893:25c8:1946")
    assert address_is_public("127.0.0.1", allow_loopback=True) and address_is_public("::1", allow_loopback=True)
    assert not address_is_public("10.0.0.1", allow_loopback=True)
    assert not address_is_public("64:ff9b::7f00:1")  # NAT64 of loopback is not loopback


def test_a_delivery_to_a_local_address_is_refused_before_any_request(settings, receivers, django_capture_on_commit_callbacks, tasks_run_in_place):  # noqa: F811
    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = False
    receiver = receivers(secret="")
    # https to a name that resolves to loopback: the scheme passes, the address does not.
    endpoint, _ = endpoint_make(url=f"https://localhost:{receiver.port}/hooks")
    _emit(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed"
    (attempt,) = delivery.attempt_rows.all()  # refused: not retried
    assert attempt.response_code is None and "private or local address" in attempt.error
    assert receiver.received() == []


def test_plain_http_is_refused_unless_loopback_is_allowed(settings, receivers, django_capture_on_commit_callbacks, tasks_run_in_place):  # noqa: F811
    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = False
    receiver = receivers()
    endpoint, _ = endpoint_make(url=receiver.url)
    _emit(django_capture_on_commit_callbacks)
    assert "must use https" in WebhookDelivery.objects.get(endpoint=endpoint).attempt_rows.get().error
    assert receiver.received() == []


def test_a_redirect_is_never_followed(loopback, receivers, django_capture_on_commit_callbacks, tasks_run_in_place):  # noqa: F811
    receiver = receivers(redirect_to="http://10.0.0.1/metadata")
    endpoint, _ = endpoint_make(url=receiver.url, kind="slack")
    from sites.tasks import webhook_deliver_task

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(webhook_deliver_task, "max_retries", 0)
        _emit(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed" and [a.response_code for a in delivery.attempt_rows.all()] == [302]
    assert len(receiver.received()) == 1


# --- The events -----------------------------------------------------------------------------------


@pytest.fixture
def listening(db, sent_tasks):
    """An endpoint that wants every event; deliveries are recorded, their sends recorded not run."""
    endpoint, _ = endpoint_make(url="https://hooks.example.com/in", events=list(WebhookEndpoint.Event.values))
    return endpoint


def _events(endpoint):
    return [d.event_type for d in endpoint.deliveries.order_by("pk")]


def test_nothing_is_recorded_when_the_transaction_rolls_back(listening, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        webhooks.event_emit(event_type="build.live", data={})
    assert len(callbacks) == 1 and _events(listening) == []  # recorded only once it commits


def test_a_disabled_endpoint_or_an_unwanted_event_gets_nothing(listening, django_capture_on_commit_callbacks, sent_tasks):
    other, _ = endpoint_make(url="https://hooks.example.com/other", events=["deployment.failed"])
    WebhookEndpoint.objects.filter(pk=listening.pk).update(enabled=False)
    _emit(django_capture_on_commit_callbacks, "build.live")
    assert _events(listening) == [] and _events(other) == [] and sent_tasks.of(DELIVER) == []


def test_a_deployment_says_started_then_failed_once(listening, django_capture_on_commit_callbacks, sent_tasks):
    from sites.services.provisioning import deployment_run

    deployment = Deployment.objects.create(kind="redeploy", site=None, site_slug="gone")
    with django_capture_on_commit_callbacks(execute=True):
        deployment_run(deployment_id=deployment.pk)
        deployment_run(deployment_id=deployment.pk)  # finished: skipped, says nothing
    assert _events(listening) == ["deployment.started", "deployment.failed"]
    failed = listening.deliveries.get(event_type="deployment.failed").payload
    assert failed["data"]["deployment"]["message"] == "the site no longer exists"
    assert failed["data"]["site"]["slug"] == "gone"
    assert len(sent_tasks.of(DELIVER)) == 2


def test_a_deployment_that_succeeds_says_so(listening, live_site, django_capture_on_commit_callbacks):
    from sites.services.provisioning.steps import _run

    deployment = Deployment.objects.create(kind="redeploy", site=live_site, status="running")
    with django_capture_on_commit_callbacks(execute=True):
        _run(deployment, [("Nothing to do", lambda: "done")], lambda: "all done")
    (delivery,) = listening.deliveries.all()
    assert delivery.event_type == "deployment.succeeded"
    assert delivery.payload["data"]["site"]["slug"] == live_site.slug
    assert delivery.payload["data"]["deployment"]["status"] == "succeeded"


def test_making_a_build_live_says_build_live(listening, live_site, ada, django_capture_on_commit_callbacks):  # noqa: F811
    from sites.models import Build
    from sites.services.site_actions import build_make_live

    build = Build.objects.create(site=live_site, status="ready", prefix="builds/1", deploy_message="Fix", commit="abc123")
    with django_capture_on_commit_callbacks(execute=True):
        build_make_live(site=live_site, build=build, actor=ada)
    (delivery,) = listening.deliveries.all()
    assert delivery.event_type == "build.live"
    data = delivery.payload["data"]
    assert data["build"]["number"] == build.number and data["build"]["commit"] == "abc123" and data["made_live_by"] == "ada"


def test_access_ending_soon_is_said_once_per_end_date_even_with_no_one_to_e_mail(listening, site, settings, django_capture_on_commit_callbacks):
    from sites.models import ProtectedSite
    from sites.services.reminders import access_reminders_send

    settings.GATEHOUSE_ACCESS_REMINDER_DAYS = 3
    settings.GATEHOUSE_ACCESS_REMINDER_TO = []
    ProtectedSite.objects.filter(pk=site.pk).update(not_after=timezone.now() + timedelta(days=2), created_by=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert access_reminders_send() == 0  # no e-mail: nobody to send it to
        access_reminders_send()
    (delivery,) = listening.deliveries.all()
    assert delivery.event_type == "access.ending_soon"
    assert delivery.payload["data"]["access"]["days_left"] == 2


def _visit(site, email, key, kind="signed_in", minutes=0):
    return Visit(site=site, kind=kind, occurred_at=timezone.now() - timedelta(minutes=minutes), email=email, event_key=key)


def test_an_invitee_first_visit_is_said_once(listening, site, django_capture_on_commit_callbacks):
    from sites.services.visits import _insert_new

    Invitation.objects.create(site=site, email="ann@client.example", status="sent")
    with django_capture_on_commit_callbacks(execute=True):
        _insert_new([_visit(site, "ann@client.example", "a", minutes=5), _visit(site, "ann@client.example", "b"),
                     _visit(site, "zed@elsewhere.example", "c"), _visit(site, "bob@client.example", "d", kind="refused")])
        _insert_new([_visit(site, "ann@client.example", "e")])
    (delivery,) = listening.deliveries.all()
    assert delivery.event_type == "invitee.first_visit"
    assert delivery.payload["data"]["invitee"]["email"] == "ann@client.example"
    first = Invitation.objects.get(email="ann@client.example").first_visit_at
    assert delivery.payload["data"]["visit"]["occurred_at"] == first.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- The pages ------------------------------------------------------------------------------------


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_adds_a_standard_endpoint_and_sees_its_secret_once(ada, sent_tasks):  # noqa: F811
    client = _signed_in(ada)
    response = client.post(reverse("sites:webhook_new"), {
        "kind": "standard", "url": "https://hooks.example.com/in?token=t0ps3cret", "description": "ops",
        "events": ["deployment.failed", "build.live"], "enabled": "on",
    })
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = endpoint.secret
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert secret not in endpoint.secret_encrypted and "t0ps3cret" not in endpoint.url_encrypted  # encrypted at rest
    assert endpoint.events == ["build.live", "deployment.failed"]
    for page in (reverse("sites:webhooks"), reverse("sites:webhook", args=[endpoint.pk]), reverse("sites:webhook_edit", args=[endpoint.pk])):
        html = client.get(page).content.decode()
        assert secret not in html and "t0ps3cret" not in html
    assert Activity.objects.filter(verb="webhook.create", actor=ada).exists()


def test_a_slack_url_is_never_shown_again(ada, vic):  # noqa: F811
    url = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXsecretpath"
    response = _signed_in(ada).post(reverse("sites:webhook_new"), {"kind": "slack", "url": url, "events": ["build.live"], "enabled": "on"})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == url and endpoint.url_display == "https://hooks.slack.com/…path"
    for user in (ada, vic):
        for page in (reverse("sites:webhooks"), reverse("sites:webhook", args=[endpoint.pk])):
            assert "XXXXXXXXXXXXsecret" not in _signed_in(user).get(page).content.decode()
    edit = _signed_in(ada).get(reverse("sites:webhook_edit", args=[endpoint.pk])).content.decode()
    assert "XXXXXXXXXXXXsecret" not in edit
    # Saving without a URL keeps it.
    _signed_in(ada).post(reverse("sites:webhook_edit", args=[endpoint.pk]), {"description": "#demos", "events": ["build.live", "deployment.failed"]})
    endpoint.refresh_from_db()
    assert endpoint.url == url and endpoint.description == "#demos" and not endpoint.enabled


@pytest.mark.parametrize(
    "url, error",
    [
        ("http://hooks.example.com/in", "must use https"),
        ("https://10.0.0.7/in", "private or local address"),
        ("https://[::ffff:192.168.0.1]/in", "private or local address"),
        ("https://localhost/in", "private or local address"),
        ("https://user:pw@hooks.example.com/in", "user name and password"),
        ("not a url", "full URL"),
    ],
)
def test_a_url_it_cannot_send_to_is_an_error_beside_the_field(ada, url, error):  # noqa: F811
    response = _signed_in(ada).post(reverse("sites:webhook_new"), {"kind": "standard", "url": url, "events": ["build.live"]})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_url_error"' in html and error in html
    assert not WebhookEndpoint.objects.exists()


def test_an_operator_cannot_add_an_endpoint(olga):  # noqa: F811
    response = _signed_in(olga).post(reverse("sites:webhook_new"), {"kind": "standard", "url": "https://hooks.example.com/", "events": ["build.live"]})
    assert response.status_code == 403 and not WebhookEndpoint.objects.exists()


def test_the_delivery_log_shows_each_attempt_and_an_admin_redelivers(loopback, ada, vic, receivers, django_capture_on_commit_callbacks, tasks_run_in_place):  # noqa: F811
    endpoint, secret = endpoint_make(url="http://127.0.0.1:1/")
    receiver = receivers(secret=secret)
    endpoint.url = receiver.url
    endpoint.save()
    _emit(django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "succeeded"

    page = _signed_in(vic).get(reverse("sites:webhook", args=[endpoint.pk])).content.decode()
    assert 'data-code="200"' in page and "build.live" in page and "Redeliver" not in page  # a Viewer reads, no button

    client = _signed_in(ada)
    assert "Redeliver" in client.get(reverse("sites:webhook", args=[endpoint.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sites:webhook_redeliver", args=[delivery.pk]))
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and [a.number for a in delivery.attempt_rows.all()] == [1, 2]
    got = receiver.received()
    assert len(got) == 2 and got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"] == delivery.message_id
    assert all(r["verified"] for r in got)
    assert Activity.objects.filter(verb="webhook.redeliver", actor=ada).exists()


def test_a_delivery_under_way_is_not_redelivered(ada, sent_tasks):  # noqa: F811
    endpoint, _ = endpoint_make(url="https://hooks.example.com/in")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="build.live", message_id="msg_x", status="retrying")
    _signed_in(ada).post(reverse("sites:webhook_redeliver", args=[delivery.pk]))
    delivery.refresh_from_db()
    assert delivery.status == "retrying" and sent_tasks.of(DELIVER) == []


def test_an_admin_disables_enables_and_deletes_an_endpoint(ada, listening, django_capture_on_commit_callbacks):  # noqa: F811
    client = _signed_in(ada)
    client.post(reverse("sites:webhook_disable", args=[listening.pk]))
    _emit(django_capture_on_commit_callbacks)
    assert _events(listening) == []
    client.post(reverse("sites:webhook_enable", args=[listening.pk]))
    _emit(django_capture_on_commit_callbacks)
    assert _events(listening) == ["build.live"]
    response = client.post(reverse("sites:webhook_delete", args=[listening.pk]))
    assert response.status_code == 302 and not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert [a.verb for a in Activity.objects.filter(verb__startswith="webhook.").order_by("pk")] == [
        "webhook.create", "webhook.disable", "webhook.enable", "webhook.delete"
    ]


def test_the_navigation_links_to_webhooks(vic):  # noqa: F811
    html = _signed_in(vic).get(reverse("sites:dashboard")).content.decode()
    assert f'href="{reverse("sites:webhooks")}"' in html


def test_the_docs_way_of_checking_a_signature_by_hand_works():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    (by_hand,) = [b for b in blocks if "def verify(" in b]
    namespace = {}
    exec(by_hand, namespace)  # noqa: S102 - our own documentation
    secret = webhooks.secret_generate()
    body = b'{"type":"build.live","data":{}}'
    headers = webhook_delivery.signed_headers(secret=secret, message_id="msg_doc", body=body, at=timezone.now())
    assert namespace["verify"](secret, body, headers)
    assert not namespace["verify"](webhooks.secret_generate(), body, headers)
    assert not namespace["verify"](secret, body + b" ", headers)
    old = webhook_delivery.signed_headers(secret=secret, message_id="msg_doc", body=body, at=timezone.now() - timedelta(hours=1))
    assert not namespace["verify"](secret, body, old)


def test_loopback_deliveries_in_production_are_warned_of_at_start(settings):
    from sites.checks import gatehouse_settings_check

    settings.PRODUCTION = True
    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = True
    assert "gatehouse.W020" in {m.id for m in gatehouse_settings_check(None)}
    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = False
    assert "gatehouse.W020" not in {m.id for m in gatehouse_settings_check(None)}


def test_finished_deliveries_leave_the_log_after_its_days(settings):
    settings.GATEHOUSE_WEBHOOK_LOG_DAYS = 30
    endpoint, _ = endpoint_make(url="https://hooks.example.com/in")
    rows = {
        status: WebhookDelivery.objects.create(endpoint=endpoint, event_type="build.live", message_id=f"msg_{status}", status=status)
        for status in ("succeeded", "failed", "retrying")
    }
    WebhookAttempt.objects.create(delivery=rows["failed"], number=1, response_code=500)
    WebhookDelivery.objects.update(created_at=timezone.now() - timedelta(days=31))
    fresh = WebhookDelivery.objects.create(endpoint=endpoint, event_type="build.live", message_id="msg_new", status="succeeded")
    assert webhooks.webhook_deliveries_purge() == 2
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {rows["retrying"].pk, fresh.pk}


def test_the_activity_page_says_what_was_done_to_an_endpoint_without_its_secret_url(ada, sent_tasks):  # noqa: F811
    client = _signed_in(ada)
    client.post(reverse("sites:webhook_new"), {"kind": "slack", "url": "https://hooks.slack.com/services/T1/B2/sEcReTsEcReT",
                                               "events": ["build.live"], "enabled": "on"})
    html = client.get(reverse("sites:activity")).content.decode()
    assert "ada added a webhook endpoint" in html and "sEcReTsEcReT" not in html
