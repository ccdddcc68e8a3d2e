"""Onboarding benchmarks: one site from save to live, worker included, and the
dashboard's query count with 10 and with 1000 sites.

Everything runs in a throwaway folder (GATEHOUSE_VAR_DIR): a SQLite file
database, the filesystem Celery broker, moto's server on a free loopback port
and a real `celery -A console worker` process. Nothing reads or writes a
developer's `var/`, `.env` or AWS account; everything started is stopped.

    python benchmarks/bench_onboarding.py [--runs 5] [--timeout 180]
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}
# What could point this run at someone's real data or account.
SCRUBBED = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "CELERY_RESULT_BACKEND",
    "CELERY_TASK_ALWAYS_EAGER",
    "MEDIA_ROOT",
    "GATEHOUSE_CONFIG_BUCKET",
    "GATEHOUSE_SITE_BUCKET_PREFIX",
)
POLL = 0.02  # seconds between database polls while waiting for a site to go live


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(var_dir: Path, moto_port: int) -> dict:
    """The environment for this process, moto and the worker: the temp folder and fake AWS only."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(FAKE_AWS)
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings",
        GATEHOUSE_ENV="development",
        GATEHOUSE_ENV_FILE=os.devnull,
        GATEHOUSE_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'db.sqlite3'}",
        CELERY_BROKER_URL="filesystem://",
        GATEHOUSE_AWS_ENDPOINT_URL=f"http://127.0.0.1:{moto_port}",
        AWS_CONFIG_FILE=str(var_dir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(var_dir / "no-aws-config"),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",  # this process's logging; the worker's is set on its command line
    )
    return env


class Proc:
    """A child process whose output is read on a thread (a full pipe would block it)."""

    def __init__(self, name, argv, env, ready_marker=None):
        self.name = name
        self.lines = []
        self.stamps = []  # perf_counter() when each line was read
        self.ready = threading.Event()
        self.ready_marker = ready_marker
        self.changed = threading.Condition()
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        threading.Thread(target=self._read, name=f"{name}-output", daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            with self.changed:
                self.lines.append(line)
                self.stamps.append(time.perf_counter())
                self.changed.notify_all()
            if self.ready_marker and self.ready_marker in line:
                self.ready.set()

    def tail(self, n=60):
        return "\n".join(self.lines[-n:])

    def wait_line(self, pattern: re.Pattern, start: int, timeout: float) -> float:
        """perf_counter() at which a line from index `start` on matched `pattern`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            i = start
            while True:
                while i < len(self.lines):
                    if pattern.search(self.lines[i]):
                        return self.stamps[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise Failure(f"{self.name}: no line matching {pattern.pattern!r} within {timeout:.0f} s")
                self.changed.wait(min(left, 1.0))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class Failure(Exception):
    pass


def moto_start(env, port, timeout=30.0) -> Proc:
    moto = Proc("moto", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if moto.proc.poll() is not None:
            raise Failure(f"moto.server exited with {moto.proc.returncode}:\n{moto.tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1) as response:
                response.read()
            return moto
        except urllib.error.HTTPError:
            return moto  # answering at all is enough
        except OSError:
            time.sleep(0.1)
    moto.stop()
    raise Failure(f"moto.server did not answer within {timeout:.0f} s:\n{moto.tail()}")


def worker_start(env, timeout=60.0) -> Proc:
    worker = Proc(
        "worker",
        [
            sys.executable, "-m", "celery", "-A", "console", "worker",
            "--concurrency=2", "--without-gossip", "--without-mingle",
            "--loglevel=INFO", "--hostname=bench@%h",
        ],
        env,
        ready_marker=" ready.",
    )
    if not worker.ready.wait(timeout):
        worker.stop()
        raise Failure(f"the Celery worker did not start within {timeout:.0f} s:\n{worker.tail()}")
    return worker


def fmt_s(seconds):
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


# --- 2. dashboard queries ------------------------------------------------------------------


def bench_dashboard(staff):
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from sites.models import Deployment, EdgeRelease, IdentityProvider, ProtectedSite
    from sites.views.lists import PAGE_SIZE

    url = reverse("sites:dashboard")
    client = Client(HTTP_HOST="localhost")  # development ALLOWED_HOSTS; no test-environment instrumentation
    client.force_login(staff)
    now = timezone.now()

    releases = EdgeRelease.objects.bulk_create(
        [
            EdgeRelease(version=f"bench-{i}", zip_sha256=f"{i:064d}", function_name="bench-edge", status="published")
            for i in range(3)
        ]
    )
    kinds = [Deployment.Kind.PROVISION, Deployment.Kind.BUILD, Deployment.Kind.CONFIG]
    statuses = list(ProtectedSite.Status.values)
    made = 0

    def grow_to(total):
        nonlocal made
        new = range(made, total)
        providers = IdentityProvider.objects.bulk_create(
            [
                IdentityProvider(name=f"Provider {i}", issuer=f"https://idp{i}.bench.example/", client_id=f"c{i}")
                for i in range(made // 10, (total + 9) // 10)
            ]
        )
        sites = ProtectedSite.objects.bulk_create(
            [
                ProtectedSite(
                    client=f"Client {i % 37:02d}",
                    name=f"Demo {i:04d}",
                    slug=f"demo-{i:04d}",
                    hosts=[f"demo-{i:04d}.bench.example"],
                    provider=providers[(i - made) // 10 % len(providers)],
                    edge_release=releases[i % 3] if i % 4 else None,
                    status=statuses[i % len(statuses)],
                    distribution_domain=f"d{i:04d}.cloudfront.net" if i % 2 else "",
                    not_after=now + timedelta(days=(i % 20) - 5) if i % 3 else None,
                )
                for i in new
            ]
        )
        # Three deployments a site: the list shows each site's newest.
        Deployment.objects.bulk_create(
            [
                Deployment(site=site, site_slug=site.slug, kind=kinds[k], status=Deployment.Status.SUCCEEDED)
                for site in sites
                for k in range(3)
            ]
        )
        made = total

    def measure(total, query=""):
        target = url + query
        client.get(target)  # warm: templates, URL resolver, session
        # Each request empties connection.queries_log (request_started ->
        # reset_queries); start from empty so the capture's slice is right.
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(target)
        assert response.status_code == 200, response.status_code
        rows = response.content.decode().count('<tr data-site="')
        times = []
        for _ in range(20):
            start = time.perf_counter()
            client.get(target)
            times.append(time.perf_counter() - start)
        captured = list(ctx.captured_queries)  # a view on queries_log: copy before the next request
        return len(captured), rows, statistics.median(times), captured

    print(f"\n2. Dashboard ({url}) as a staff user, Django test Client; page size {PAGE_SIZE}")
    print("   rows made with bulk_create: a provider per 10 sites, 3 deployments a site, 3 edge releases")
    results = {}
    for total in (10, 1000):
        grow_to(total)
        results[total] = measure(total)
        queries, rows, median, _ = results[total]
        print(f"   {total:>5} sites: {queries} queries, {rows} rows rendered, render {median * 1000:.1f} ms (median of 20)")
    last_page = f"?page={(1000 + PAGE_SIZE - 1) // PAGE_SIZE}"
    queries, rows, median, _ = measure(1000, last_page)
    print(f"   {1000:>5} sites, last page ({last_page}): {queries} queries, {rows} rows, {median * 1000:.1f} ms")
    queries, rows, median, _ = measure(1000, "?q=demo-09&status=live")
    print(f"   {1000:>5} sites, search + status filter: {queries} queries, {rows} rows, {median * 1000:.1f} ms")

    small, large = results[10][0], results[1000][0]
    verdict = "constant" if small == large else f"GREW by {large - small}"
    print(f"   query count 10 -> 1000 sites: {small} -> {large} ({verdict})")
    print("   queries at 1000 sites:")
    for q in results[1000][3]:
        sql = " ".join(q["sql"].split())
        print(f"     {sql[:160]}{'...' if len(sql) > 160 else ''}")

    # Leave nothing that would change how provisioning picks a function or names things.
    Deployment.objects.all().delete()
    ProtectedSite.objects.all().delete()
    IdentityProvider.objects.all().delete()
    EdgeRelease.objects.all().delete()
    return small == large


# --- 1. onboarding ------------------------------------------------------------------------


def bench_noop_roundtrip(worker, runs=15, timeout=30.0):
    """enqueue sites.tasks.revisions_sweep -> worker runs it -> its "succeeded" log line is read."""
    from sites.tasks import revisions_sweep

    times = []
    for _ in range(runs):
        mark = len(worker.lines)
        start = time.perf_counter()
        result = revisions_sweep.delay()
        done = worker.wait_line(re.compile(re.escape(f"[{result.id}] succeeded")), mark, timeout)
        times.append(done - start)
        time.sleep(0.05)
    return times


def onboard_one(i, provider, staff, worker, timeout):
    from django.utils import timezone

    from sites.models import Deployment, DeploymentStep, ProtectedSite
    from sites.services.provisioning import site_provision_start
    from sites.services.sites import site_create

    mark = len(worker.lines)
    start = time.perf_counter()
    site = site_create(
        actor=staff,
        client="Bench",
        name=f"Onboarding {i}",
        slug=f"onboard-{i}",
        hosts=[f"onboard-{i}.localhost"],
        provider=provider,
        email_domains=["client.example"],
    )
    deployment = site_provision_start(site=site, actor=staff)
    queued = time.perf_counter()
    deadline = time.monotonic() + timeout
    waits = []  # what the deployment said while it waited (the row keeps only the last message)
    while True:
        status = ProtectedSite.objects.filter(pk=site.pk).values_list("status", flat=True).first()
        message = Deployment.objects.filter(pk=deployment.pk).values_list("message", flat=True).first()
        if message and (not waits or waits[-1] != message) and status != ProtectedSite.Status.LIVE:
            waits.append(message)
        if status == ProtectedSite.Status.LIVE:
            break
        if status == ProtectedSite.Status.FAILED:
            message = Deployment.objects.filter(pk=deployment.pk).values_list("message", flat=True).first()
            raise Failure(f"site {site.slug} failed to provision: {message}\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise Failure(f"site {site.slug} not live after {timeout:.0f} s (status {status})\n{worker.tail()}")
        time.sleep(POLL)
    live = time.perf_counter()
    live_at = timezone.now()
    waited = sum(
        (step.finished_at - step.started_at).total_seconds()
        for step in DeploymentStep.objects.filter(deployment=deployment, name="Wait until deployed")
        if step.started_at and step.finished_at
    )
    log = worker.lines[mark:]
    runs = {
        name: sum(1 for line in log if f"sites.tasks.{name}[" in line and " received" in line)
        for name in ("deployment_run_task", "revision_upload_task")
    }
    return {
        "seconds": live - start,
        "request": queued - start,
        "deployment_id": deployment.pk,
        "slug": site.slug,
        "task_runs": runs,
        "waits": waits,
        "waited": waited,
        "live_at": live_at,
    }


def print_steps(run, title):
    from sites.models import Deployment

    deployment = Deployment.objects.get(pk=run["deployment_id"])
    t0 = deployment.created_at
    rel = lambda t: f"{(t - t0).total_seconds():7.2f}" if t else "      -"  # noqa: E731
    print(f"   {title}: deployment {deployment.pk} of {run['slug']}, times in s from the Deployment row's created_at")
    print(f"     {'step':<26}{'start':>8}{'end':>8}{'took':>8}  status / message")
    print(f"     {'(queued -> picked up)':<26}{'':>8}{rel(deployment.started_at):>8}"
          f"{(deployment.started_at - t0).total_seconds():8.2f}")
    for step in deployment.steps.order_by("ordering", "pk"):
        took = (step.finished_at - step.started_at).total_seconds() if step.started_at and step.finished_at else 0
        message = " ".join(step.message.split())
        print(f"     {step.name:<26}{rel(step.started_at):>8}{rel(step.finished_at):>8}{took:8.2f}  "
              f"{step.status}: {message[:70]}{'...' if len(message) > 70 else ''}")
    print(f"     {'(deployment finished)':<26}{'':>8}{rel(deployment.finished_at):>8}")
    print(f"     {'(live seen here)':<26}{'':>8}{rel(run['live_at']):>8}")
    print(f"     task runs in the worker: {run['task_runs']['deployment_run_task']} deployment_run_task, "
          f"{run['task_runs']['revision_upload_task']} revision_upload_task")
    for message in run["waits"]:
        print(f"     while waiting, the deployment said: {message}")


def bench_onboarding(env, runs, timeout, moto_port):
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from sites.models import IdentityProvider
    from sites.services import provisioning

    poll = provisioning.steps._poll_seconds()
    moto = worker = None
    try:
        started = time.perf_counter()
        moto = moto_start(env, moto_port)
        worker = worker_start(env)
        print(f"\n1. Onboarding against moto ({settings.GATEHOUSE_AWS_ENDPOINT_URL}) with a real worker "
              f"(prefork, concurrency 2, filesystem broker polling every "
              f"{settings.CELERY_BROKER_TRANSPORT_OPTIONS['polling_interval']} s); "
              f"moto + worker up in {time.perf_counter() - started:.1f} s")

        noop = bench_noop_roundtrip(worker)
        print(f"   baseline, no-op task round trip: {fmt_s(statistics.median(noop))} median "
              f"(min {fmt_s(min(noop))}, max {fmt_s(max(noop))}, {len(noop)} runs)")
        print("     = enqueue sites.tasks.revisions_sweep (nothing stale: one query, returns 0) until the worker's")
        print("       'succeeded' log line for that task id is read here; no result backend, nothing else changed.")
        print("       It is the floor of one hop through the broker; a provision takes several hops.")

        staff = get_user_model().objects.get(username="bench-staff")
        provider = IdentityProvider(
            name="Bench",
            issuer="https://bench.example/",
            authorization_endpoint="https://bench.example/authorize",
            token_endpoint="https://bench.example/token",
            jwks_uri="https://bench.example/jwks",
            client_id="bench",
            jwks={"keys": [{"kty": "RSA", "kid": f"k{i}", "n": "A" * 342, "e": "AQAB"} for i in range(3)]},
        )
        provider.client_secret = "bench-secret"
        provider.save()

        results = []
        for i in range(1, runs + 1):
            run = onboard_one(i, provider, staff, worker, timeout)
            results.append(run)
            print(f"   run {i}: save -> live {run['seconds']:.2f} s (site_create + site_provision_start "
                  f"{run['request'] * 1000:.0f} ms; {run['task_runs']['deployment_run_task']} deployment runs)"
                  f"{'  <- first: creates the config bucket, KMS key, role, publishes the edge function' if i == 1 else ''}")
        seconds = [r["seconds"] for r in results]
        print(f"   save -> live, one site: {statistics.median(seconds):.2f} s median of {runs} "
              f"(min {min(seconds):.2f} s, max {max(seconds):.2f} s)")
        waited = [r["waited"] for r in results]
        print(f"   of which in the step 'Wait until deployed': {statistics.median(waited):.2f} s median "
              f"(min {min(waited):.2f} s, max {max(waited):.2f} s); the rest is work and broker hops: "
              f"{statistics.median([a - b for a, b in zip(seconds, waited)]):.2f} s median")
        if runs > 2:
            warm = seconds[1:]
            print(f"   save -> live without the first (shared resources already exist): "
                  f"{statistics.median(warm):.2f} s median of {len(warm)}")
        print(f"   (site status polled every {POLL * 1000:.0f} ms; "
              f"a step that waits on CloudFront re-enqueues itself in {poll} s, GATEHOUSE_PROVISION_POLL_SECONDS; "
              f"one that waits only on the config upload, in {provisioning.provision.UPLOAD_POLL_SECONDS} s)")

        print_steps(results[0], "steps of run 1 (first)")
        typical = sorted(results[1:] or results, key=lambda r: r["seconds"])[len(results[1:] or results) // 2]
        print_steps(typical, "steps of a median run")
    except Failure:
        raise
    except Exception as exc:
        tail = worker.tail() if worker else ""
        raise Failure(f"{type(exc).__name__}: {exc}\nworker log tail:\n{tail}") from exc
    finally:
        for proc in (worker, moto):
            if proc is not None:
                proc.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="sites onboarded one after another (default 5)")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one site may take to go live")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="gatehouse-bench-"))
    try:
        moto_port = free_port()
        env = isolated_env(var_dir, moto_port)
        for name in SCRUBBED:
            os.environ.pop(name, None)
        os.environ.update(env)

        import logging

        import django

        django.setup()
        # Celery's producer warns that filesystem:// names no host; it needs none.
        logging.getLogger("kombu.connection").setLevel(logging.ERROR)
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        assert Path(settings.DATABASES["default"]["NAME"]).parent == var_dir.resolve(), settings.DATABASES
        call_command("migrate", verbosity=0)
        from django.contrib.auth.models import Group

        staff = get_user_model().objects.create_user("bench-staff", "staff@bench.example", "pw", is_staff=True)
        # Every console page needs a role (sites/roles.py): staff with none get 403.
        staff.groups.add(Group.objects.get(name="Operator"))
        print(f"Gatehouse onboarding benchmark; Python {sys.version.split()[0]}; throwaway folder {var_dir}")
        print(f"SQLite file database (WAL), development settings (DEBUG={settings.DEBUG})")

        constant = bench_dashboard(staff)
        bench_onboarding(env, args.runs, args.timeout, moto_port)
    except Failure as exc:
        print(f"\nFAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    if not constant:
        print("\nFAILED: the dashboard's query count grows with the number of sites", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
