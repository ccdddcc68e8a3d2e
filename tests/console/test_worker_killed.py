"""Real Celery worker processes on a broker of their own: one killed mid-step, its deployment resumed once.

What apply() cannot show: a worker process dies (SIGKILL) while it runs a
deployment step. The deployment's lease (engine._begin, a conditional UPDATE)
keeps a second delivery from running its steps while the run holds it; once
the dead run's lease lapses, the sweep's resume and a redelivery of the same
message meet at that UPDATE and exactly one of them carries on.

The worker talks to moto's server through `Gate`, a small forwarding proxy
that holds one chosen request, so the test knows the worker is inside that
step when it kills it, and counts what each step asked AWS for.
"""

import http.client
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from sites.context import CHAIN_HEADER
from sites.models import Activity, Deployment, ProtectedSite
from sites.services.provisioning import site_provision_start
from sites.services.provisioning.names import site_bucket_name
from sites.services.sites import site_create
from tests.fixtures.worker import ROOT, WorkerProcess, folder_broker, wait_for, worker_env

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 8
RUN_TASK = "sites.tasks.deployment_run_task"


class Gate:
    """Forwards every request to moto; holds the first one `hold` matches until released, then drops it."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.requests: list[tuple[str, str]] = []
        self.hold = None  # (method, path) -> bool
        self.holding = threading.Event()
        self.release = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gate.requests.append((self.command, self.path))
                if gate.hold is not None and gate.hold(self.command, self.path):
                    gate.hold = None
                    gate.holding.set()
                    gate.release.wait(120)
                    self.close_connection = True
                    return  # its worker is dead: AWS never sees this call
                upstream = http.client.HTTPConnection("127.0.0.1", gate.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.endpoint_url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, method: str, path: str) -> int:
        """Requests of exactly this method and path, query string and all ("PUT /bucket" is CreateBucket)."""
        return sum(1 for m, p in self.requests if m == method and p == path)

    def close(self):
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def gate(moto_reset):
    gate = Gate(moto_reset.port)
    yield gate
    gate.close()


@pytest.fixture
def broker(tmp_path, monkeypatch):
    """A filesystem broker in this test's own folder (tests/fixtures/worker.folder_broker)."""
    app = folder_broker(monkeypatch, tmp_path / "var")
    yield app
    app.close()


class Workers:
    def __init__(self, broker, gate):
        self.broker, self.gate = broker, gate
        self.started: list[WorkerProcess] = []

    def start(self, name: str) -> WorkerProcess:
        env = worker_env(self.gate.endpoint_url)
        env.update(
            GATEHOUSE_VAR_DIR=str(self.broker.var_dir),
            CELERY_BROKER_URL="filesystem://",
            GATEHOUSE_DEPLOYMENT_LEASE_SECONDS=str(LEASE_SECONDS),
            GATEHOUSE_PROVISION_POLL_SECONDS="1",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "console", "worker", "--loglevel=INFO", "--concurrency=2",
             "--without-gossip", "--without-mingle", "--without-heartbeat", f"--hostname={name}@%h"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            # Its own process group: SIGKILL reaches the pool's children too, as when a machine dies.
            start_new_session=True,
        )
        worker = WorkerProcess(proc)
        self.started.append(worker)
        if not worker.ready.wait(90):
            pytest.fail(f"worker {name} did not start:\n{worker.log()}")
        return worker

    def kill(self, worker: WorkerProcess) -> None:
        os.killpg(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(30)

    def stop_all(self):
        for worker in self.started:
            if worker.proc.poll() is None:
                os.killpg(worker.proc.pid, signal.SIGTERM)
                try:
                    worker.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.proc.pid, signal.SIGKILL)


@pytest.fixture
def workers(broker, gate, django_db_blocker):
    workers = Workers(broker, gate)
    yield workers
    workers.stop_all()


def outcomes(worker: WorkerProcess, state: str) -> int:
    return sum(1 for line in list(worker.lines) if RUN_TASK in line and "succeeded" in line and f"'{state}'" in line)


@pytest.fixture
def quiet_test_broker(monkeypatch):
    """The test process's own sends (on commit) are recorded, not put on its broker.

    These tests send to the workers' broker themselves; a message on the
    test process's broker could be taken by another test's worker.
    """
    from tests.console.conftest import record_sends

    return record_sends(monkeypatch)


@pytest.fixture
def site(db, quiet_test_broker):
    from sites.models import IdentityProvider
    from tests.console.conftest import CLIENT_SECRET, JWKS

    provider = IdentityProvider(
        name="Acme", preset="oidc", issuer="https://idp.acme.example/", authorization_endpoint="https://idp.acme.example/a",
        token_endpoint="https://idp.acme.example/t", jwks_uri="https://idp.acme.example/k", client_id="c", jwks=JWKS,
    )
    provider.client_secret = CLIENT_SECRET
    provider.save()
    return site_create(client="Acme", name="Demo", slug="acme-demo", hosts=["demo.acme.example"], provider=provider, allow_any_user=True)


def test_a_worker_killed_mid_step_is_resumed_once_and_two_deliveries_never_run_side_by_side(site, gate, broker, workers):
    bucket_path = "/" + site_bucket_name(site)
    gate.hold = lambda method, path: method == "PUT" and path == bucket_path
    deployment = site_provision_start(site=site, actor=None)
    first = workers.start("first")
    broker.send_task(RUN_TASK, args=[deployment.pk])
    assert gate.holding.wait(90), first.log()
    # Inside the "Site bucket" step, the lease held by the first worker's run.
    held = Deployment.objects.get(pk=deployment.pk)
    assert held.lease_owner and held.steps.get(name="Site bucket").status == "running"

    # A second delivery of the same deployment while that run holds it (the
    # other pool process takes it): it runs no step.
    broker.send_task(RUN_TASK, args=[deployment.pk])
    wait_for(lambda: outcomes(first, "skipped") == 1, timeout=60, worker=first, what="the second delivery to be skipped")
    assert gate.count("PUT", bucket_path) == 1

    workers.kill(first)
    gate.release.set()
    wait_for(
        lambda: Deployment.objects.filter(pk=deployment.pk, lease_until__lt=timezone.now()).exists(),
        timeout=LEASE_SECONDS + 30,
        what="the dead run's lease to lapse",
    )

    # Both ways back at once: the beat sweep's resume and the broker handing
    # the message out again. One of them runs the rest; the other is skipped.
    second = workers.start("second")
    broker.send_task("sites.tasks.deployments_sweep")
    broker.send_task(RUN_TASK, args=[deployment.pk])
    done = wait_for(
        lambda: Deployment.objects.filter(pk=deployment.pk, status__in=["succeeded", "failed"]).first(),
        timeout=180,
        worker=second,
        what="the deployment to finish",
    )
    assert done.status == "succeeded", [(s.name, s.status, s.message) for s in done.steps.all()]
    assert ProtectedSite.objects.get(pk=site.pk).status == "live"
    # The killed run's CreateBucket and one resumed run's: never two chains.
    assert gate.count("PUT", bucket_path) == 2
    assert gate.count("POST", "/2020-05-31/distribution") == 1
    assert [s.status for s in done.steps.order_by("ordering")] == ["succeeded"] * done.steps.count()
    assert Activity.objects.filter(site=site, verb="site.live").count() == 1


def test_a_task_message_carries_its_chain_and_the_worker_records_in_it(site, gate, broker, workers):
    worker = workers.start("chain")
    staff = get_user_model().objects.create_user("alice", "alice@gatehouse.example", "pw", is_staff=True)
    ProtectedSite.objects.filter(pk=site.pk).update(session_lifetime=3 * 3600)
    broker.send_task("sites.tasks.config_publish_task", args=[site.pk, staff.pk, "retried"], headers={CHAIN_HEADER: "c" * 32})
    row = wait_for(
        lambda: Activity.objects.filter(site=site, verb="config.revision", detail__endswith="retried").first(),
        timeout=60,
        worker=worker,
        what="the retried publish",
    )
    assert row.chain_id == "c" * 32 and row.actor == staff


