"""The API (issue 11): what a deploy sends, and the site list's latency as sites grow.

1. The `gatehouse deploy` code itself (gatehouse_cli, the CLI's own
   functions) against the console's WSGI application through httpx's WSGI
   transport (every request through Django's full stack: middleware, token
   authentication, the views; no socket), with the site's bucket on moto's
   server (a process, as the tests start it). A 200-file build deployed in full (the site holds none of its
   contents) against the same build deployed again unchanged: bytes uploaded
   and time, medians. Every file here is under the inline limit, so all
   uploads go through the API; the worker's steps run in process between runs.
2. `GET /api/v1/sites/` (the first page of 100, and the last) at
   10 and 1,000 sites through Django's test client with a token, against
   `GET /api/v1/releases/` (an empty list: the same authentication and
   permission path, no rows) as the baseline.

Runs on a throwaway SQLite database in a temporary folder; prints one line per measure.

    python benchmarks/bench_api.py [--files 200] [--runs 5]
"""

import argparse
import contextlib
import hashlib
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

from _setup import ROOT, django_start, line, median_ms, provider_make

sys.path.insert(0, str(ROOT / "cli"))
# A file, not :memory:: the CLI uploads from several threads, and each has its own connection.
_DB_DIR = tempfile.mkdtemp(prefix="bench-api-")
django_start(f"sqlite:///{_DB_DIR}/bench.sqlite3")

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

BENCH_JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch" + "A" * 340, "e": "AQAB"}]}


def operator_with_token(scope, sites=()):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from sites.roles import OPERATOR, role_assign
    from sites.services.tokens import token_create

    user, made = get_user_model().objects.get_or_create(username="bench-operator", defaults={"is_staff": True})
    if made:
        role_assign(user=user, role=OPERATOR)
    _token, secret = token_create(user=user, name=f"bench {scope}", expires_at=timezone.now() + timedelta(days=1), scope=scope, sites=list(sites))
    return user, secret


def worker_steps():
    """What the worker does with the sends a request made: the deployments and config uploads, in process."""
    from sites import enqueue
    from sites.models import ConfigRevision, Deployment
    from sites.services.provisioning import deployment_run
    from sites.services.publishing import revision_upload

    enqueue.task_send = lambda name, *args, **options: None  # no broker: run below instead

    def run_all():
        for _ in range(30):
            pending = list(Deployment.objects.filter(status__in=["queued", "running"]).values_list("pk", flat=True))
            for pk in pending:
                deployment_run(deployment_id=pk)
            for pk in ConfigRevision.objects.filter(upload_status__in=["pending", "uploading"]).values_list("pk", flat=True):
                revision_upload(revision_id=pk)
            if not pending:
                return

    return run_all


def moto_start():
    """moto's server as a process (as the tests run it), and sites.aws pointed at it."""
    from sites import aws
    from tests.fixtures.ports import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).read()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    settings.GATEHOUSE_AWS_ENDPOINT_URL = endpoint
    aws.clients_reset()
    return process


def build_folder(root: Path, count: int) -> Path:
    """index.html and count-1 assets of 2 to 20 KB: a code-split single-page app."""
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><script type=module src=/assets/chunk-000.js></script>")
    for n in range(count - 1):
        size = 2048 + (n * 7919) % (18 * 1024)
        body = hashlib.sha256(f"chunk {n}".encode()).hexdigest().encode() * (size // 64 + 1)
        (root / "assets" / f"chunk-{n:03}.js").write_bytes(body[:size])
    return root


def bench_deploys(provider, files, runs):
    import httpx
    from django.core.wsgi import get_wsgi_application

    from gatehouse_cli.client import Api
    from gatehouse_cli.main import Output, cmd_deploy, parser
    from sites import aws
    from sites.models import Build, ProtectedSite, SiteBlob
    from sites.services.provisioning import site_provision_start
    from sites.services.sites import site_create

    print(f"== gatehouse deploy of a {files}-file build: in full, and again unchanged (moto's server)")
    moto = moto_start()
    run_worker = worker_steps()
    try:
        site = site_create(client="Bench", name="Deploys", slug="bench-deploys", hosts=["deploys.example"], provider=provider, allow_any_user=True)
        user, secret = operator_with_token("deploy", [site])
        site_provision_start(site=site, actor=user)
        run_worker()
        assert ProtectedSite.objects.get(pk=site.pk).bucket_name, "the site was not provisioned"
        folder = build_folder(Path(tempfile.mkdtemp()) / "dist", files)
        api = Api("http://testserver", secret, transport=httpx.WSGITransport(app=get_wsgi_application()))
        args = parser().parse_args(["deploy", str(folder), "--site", site.slug, "--json"])

        def deploy() -> dict:
            captured = io.StringIO()
            start = time.perf_counter()
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(io.StringIO()):
                cmd_deploy(api, args, Output(True))
            result = json.loads(captured.getvalue())
            result["seconds"] = time.perf_counter() - start
            return result

        full, unchanged = [], []
        for _ in range(runs):
            SiteBlob.objects.filter(site=site).delete()  # the site holds nothing: every file is sent
            full.append(deploy())
            run_worker()  # the build's steps store its contents once per site
            unchanged.append(deploy())
            run_worker()
        assert all(r["uploaded_files"] == files for r in full) and all(r["uploaded_files"] == 0 for r in unchanged)
        assert Build.objects.filter(site=site, status="ready").count() == 2 * runs
        total = full[0]["bytes"]
        kb = lambda results: statistics.median(r["uploaded_bytes"] for r in results) / 1024  # noqa: E731
        ms = lambda results, key: statistics.median(r[key] for r in results) * 1000  # noqa: E731
        print(f"   build: {files} files, {total / 1024:.1f} KB")
        line("unchanged redeploy, bytes uploaded", kb(unchanged), kb(full), unit="KB", base_name="full deploy")
        line("unchanged redeploy, files uploaded", statistics.median(r["uploaded_files"] for r in unchanged), files, unit="files", base_name="full deploy")
        line("unchanged redeploy, upload time", ms(unchanged, "upload_seconds"), ms(full, "upload_seconds"), base_name="full deploy")
        line("unchanged redeploy, whole command (hash, manifest, uploads, finalise)", ms(unchanged, "seconds"), ms(full, "seconds"), base_name="full deploy")
        print(f"   (medians of {runs} of each; the worker's steps, run between deploys, are not in these times)")
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        aws.clients_reset()
        ProtectedSite.objects.all().delete()


def bench_site_list(provider, sizes, runs=30):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sites.models import ProtectedSite

    print("== GET /api/v1/sites/ as sites grow (Django test client, a read token)")
    settings.ALLOWED_HOSTS = ["testserver"]
    _user, secret = operator_with_token("read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, response.content[:300]
        return response

    for total in sizes:
        have = ProtectedSite.objects.count()
        ProtectedSite.objects.bulk_create(
            [
                ProtectedSite(
                    client=f"Client {i // 10}", name=f"Site {i}", slug=f"s-{i}", hosts=[f"s{i}.example"], provider=provider,
                    distribution_domain=f"d{i}.cloudfront.net", status="live", emails=[f"user{j}@client{i}.example" for j in range(5)],
                )
                for i in range(have, total)
            ],
            batch_size=500,
        )
        assert get("/api/v1/sites/").json()["count"] == total
        for url in ("/api/v1/releases/", "/api/v1/sites/"):  # warm: the first request of a URL resolves and compiles
            get(url)
        with CaptureQueriesContext(connection) as page_queries:
            get("/api/v1/sites/")
        with CaptureQueriesContext(connection) as base_queries:
            get("/api/v1/releases/")
        print(f"   {total:>5} sites: {len(page_queries)} queries for the first page, {len(base_queries)} for the baseline")
        baseline = median_ms(lambda: get("/api/v1/releases/"), runs)
        page = median_ms(lambda: get("/api/v1/sites/"), runs)
        line(f"{total:>5} sites, the first page (up to 100)", page, baseline, base_name="GET /api/v1/releases/")
        # A page holds at most 100 sites (the schema's limit); the last page
        # is the one an OFFSET makes the database walk furthest for.
        last = f"/api/v1/sites/?limit=100&offset={max(0, total - 100)}"
        deepest = median_ms(lambda: get(last), runs)
        size = len(get(last).content) / 1024
        line(f"{total:>5} sites, the last page ({size:.0f} KB)", deepest, baseline, base_name="GET /api/v1/releases/")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs=2, default=(10, 1000))
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.MEDIA_ROOT = tempfile.mkdtemp()  # the staged files of API uploads
    settings.GATEHOUSE_API_RATE = None  # five deploys of 200 files in a row pass the token's rate; the rate is not what is measured
    provider = provider_make(jwks=BENCH_JWKS)
    bench_deploys(provider, args.files, args.runs)
    bench_site_list(provider, args.sizes)


if __name__ == "__main__":
    main()
