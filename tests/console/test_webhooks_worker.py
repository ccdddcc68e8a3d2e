"""Webhook deliveries through a real Celery worker process to a real receiver process.

The receiver (tests/fixtures/webhook_receiver.py) checks every signature with
the standardwebhooks library. One that answers 500 twice gets the event on the
third try, Celery's own autoretry and backoff having sent it again; one holding
another secret refuses each attempt with 401 and the delivery ends failed
after its last attempt. Every attempt is recorded with its response code.

The worker reads its own filesystem broker in this test's folder (as
tests/console/test_worker_killed.py does), so no other test's worker takes
these messages; the test process's own sends are recorded, not queued.
"""

import json
import subprocess
import sys

import pytest

from sites.models import WebhookDelivery
from sites.services.webhooks import secret_generate
from tests.console.webhooks_support import endpoint_make, receivers  # noqa: F401
from tests.fixtures.worker import ROOT, WorkerProcess, folder_broker, wait_for, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DELIVER = "sites.tasks.webhook_deliver_task"
MAX_ATTEMPTS = 4


@pytest.fixture
def broker(tmp_path, monkeypatch):
    """A filesystem broker in this test's own folder (tests/fixtures/worker.folder_broker)."""
    app = folder_broker(monkeypatch, tmp_path / "var")
    yield app
    app.close()


@pytest.fixture
def worker(broker, sent_tasks):
    env = worker_env("http://127.0.0.1:9")  # no AWS call is made by a delivery
    env.update(
        GATEHOUSE_VAR_DIR=str(broker.var_dir),
        CELERY_BROKER_URL="filesystem://",
        GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK="true",
        GATEHOUSE_WEBHOOK_RETRY_BACKOFF="1",
        GATEHOUSE_WEBHOOK_RETRY_BACKOFF_MAX="2",
        GATEHOUSE_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "--loglevel=INFO", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--hostname=hooks@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    process = WorkerProcess(proc)
    if not process.ready.wait(90):
        process.stop()
        pytest.fail("the worker did not start:\n" + process.log())
    yield process
    process.stop()


def _endpoint_and_delivery(settings, receivers, **receiver_options):
    """An endpoint for build.live, a receiver holding the secret the console showed (or another), the event emitted."""
    from django.db import transaction

    from sites.services import webhooks

    settings.GATEHOUSE_WEBHOOK_ALLOW_LOOPBACK = True
    endpoint, secret = endpoint_make(url="http://127.0.0.1:1/", events=["build.live"])
    receiver = receivers(secret=receiver_options.pop("secret", secret), **receiver_options)
    endpoint.url = receiver.url
    endpoint.save()
    with transaction.atomic():
        webhooks.event_emit(event_type="build.live", data={"site": {"slug": "acme-demo"}, "build": {"number": 7}})
    return receiver, secret, WebhookDelivery.objects.get(endpoint=endpoint)


def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(settings, receivers, broker, worker, sent_tasks):  # noqa: F811
    receiver, secret, delivery = _endpoint_and_delivery(settings, receivers, fail_first=2)
    assert secret.startswith("whsec_")
    assert sent_tasks.of(DELIVER) == [(delivery.pk,)]  # what the emit sent once the transaction committed

    broker.send_task(DELIVER, args=[delivery.pk])
    done = wait_for(
        lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status__in=["succeeded", "failed"]).first(),
        timeout=90, worker=worker, what="the delivery to finish",
    )
    assert done.status == "succeeded", worker.log()
    assert [(a.number, a.response_code) for a in done.attempt_rows.all()] == [(1, 500), (2, 500), (3, 200)]
    got = receiver.received()
    assert [r["answered"] for r in got] == [500, 500, 200]
    assert all(r["verified"] is True for r in got)
    # One message, three attempts: the same webhook-id every time, each freshly timestamped and signed.
    assert {r["headers"]["webhook-id"] for r in got} == {delivery.message_id}
    assert all(r["headers"]["webhook-signature"].startswith("v1,") for r in got)
    assert json.loads(got[-1]["body"]) == delivery.payload
    assert json.loads(got[-1]["body"])["type"] == "build.live"


def test_a_receiver_with_another_secret_refuses_every_attempt_and_the_delivery_ends_failed(settings, receivers, broker, worker):  # noqa: F811
    receiver, _secret, delivery = _endpoint_and_delivery(settings, receivers, secret=secret_generate())  # not the endpoint's

    broker.send_task(DELIVER, args=[delivery.pk])
    done = wait_for(
        lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status__in=["succeeded", "failed"]).first(),
        timeout=90, worker=worker, what="the delivery to give up",
    )
    assert done.status == "failed"
    assert [a.response_code for a in done.attempt_rows.all()] == [401] * MAX_ATTEMPTS
    got = receiver.received()
    assert len(got) == MAX_ATTEMPTS and all(r["verified"] is False for r in got)
    assert all("signature" in r["error"].lower() for r in got)
