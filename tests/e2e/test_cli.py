"""The `gatehouse` CLI end to end (issue 11): the console script the venv holds (`make install`), run as a
process against the console (``live_server``), a real Celery worker process and moto's server.

Deploy a folder (one file large enough to go by presigned PUT straight to moto's S3), deploy again after
changing one file and see one file sent, roll back, and a token without deploy scope refused with the
documented exit code and the console's own message; a failed step is exit code 5 with its reason.
"""

import hashlib
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sites import aws
from sites.models import Build, ConfigRevision, IdentityProvider, Invitation, ProtectedSite, SiteBlob
from sites.roles import OPERATOR, role_assign
from sites.services.provisioning import site_provision_start
from sites.services.sites import site_create
from sites.services.tokens import token_create
from tests.fixtures.ports import free_port
from tests.fixtures.worker import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOST = "cli-demo.localhost"
GATEHOUSE = Path(sys.executable).parent / "gatehouse"
# The exit codes docs/api.md promises.
OK, USAGE, REFUSED, INVALID, FAILED, NETWORK = 0, 2, 3, 4, 5, 6
LARGE = 4096  # bytes: over the inline limit this test sets, so that file goes by presigned PUT


def gatehouse(*args, url, token, timeout=240):
    assert GATEHOUSE.exists(), f"{GATEHOUSE} is missing: `make install` installs the CLI (pip install -e ./cli)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.update(GATEHOUSE_URL=url, GATEHOUSE_TOKEN=token, NO_COLOR="1", COLUMNS="200")
    return subprocess.run([str(GATEHOUSE), *args], env=env, capture_output=True, text=True, timeout=timeout)


def build_folder(root: Path, *, changed: str = "") -> Path:
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text("<!doctype html><title>CLI demo</title><script src=/assets/app.js></script>")
    for n in range(9):
        (root / "assets" / f"part-{n}.js").write_text(f"export const n = {n};")
    (root / "assets" / "app.js").write_text(changed or "console.log('first');")
    (root / "assets" / "video.bin").write_bytes(b"v" * LARGE)
    return root


@pytest.fixture
def live_site(celery_worker_process, local_aws, settings):
    settings.GATEHOUSE_API_INLINE_MAX_BYTES = 1024  # the live server runs in this process: its setting
    staff = get_user_model().objects.create_user("olga", "olga@consultancy.example", "pw", is_staff=True)
    role_assign(user=staff, role=OPERATOR)
    provider = IdentityProvider(
        name="Acme Auth0", preset="auth0", domain="acme.eu.auth0.com", issuer="https://acme.eu.auth0.com/",
        authorization_endpoint="https://acme.eu.auth0.com/authorize", token_endpoint="https://acme.eu.auth0.com/oauth/token",
        jwks_uri="https://acme.eu.auth0.com/.well-known/jwks.json", client_id="acme-client",
        jwks={"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "n": "sXch" + "A" * 340, "e": "AQAB"}]},
    )
    provider.client_secret = "client-secret-for-the-cli-test"
    provider.save()
    site = site_create(actor=staff, client="Acme", name="CLI demo", slug="acme-cli", hosts=[HOST], provider=provider, email_domains=["client.example"])
    site_provision_start(site=site, actor=staff)
    wait_for(
        lambda: ProtectedSite.objects.filter(pk=site.pk, status=ProtectedSite.Status.LIVE).exists(),
        timeout=150, worker=celery_worker_process, what="the site to go live",
    )
    return ProtectedSite.objects.get(pk=site.pk), staff


def token(user, scope, sites=(), name="CI"):
    return token_create(user=user, name=name, expires_at=timezone.now() + timedelta(days=1), scope=scope, sites=list(sites))[1]


def served_build_id(site) -> str:
    body = aws.client("s3").get_object(Bucket=aws.config_bucket_name(), Key=aws.config_object_key(HOST))["Body"].read()
    return json.loads(body)["site"]["build"]["id"]


def configs_uploaded(site) -> bool:
    return not ConfigRevision.objects.filter(site=site, upload_status__in=["pending", "uploading"]).exists()


def test_deploy_redeploy_one_changed_file_and_roll_back(live_site, live_server, celery_worker_process, tmp_path):
    site, olga = live_site
    url, secret = live_server.url, token(olga, "deploy", [site])
    dist = build_folder(tmp_path / "dist")

    # 1. A folder: every file is new to the site; the large one goes straight to S3.
    first = gatehouse("deploy", str(dist), "--site", site.slug, "--message", "First cut", "--commit", "a1" * 20, "--wait", "--json", url=url, token=secret)
    assert first.returncode == OK, first.stderr + first.stdout + celery_worker_process.log()
    result = json.loads(first.stdout)
    assert result["files"] == 12 and result["uploaded_files"] == 12
    assert result["deployment"]["status"] == "succeeded"
    assert [s["name"] for s in result["deployment"]["steps"]] == ["Check files", "Upload files", "Make live"]
    assert result["url"] == site.public_origin(HOST) + "/"
    one = Build.objects.get(site=site, number=result["build"])
    assert (one.deploy_message, one.commit, one.status) == ("First cut", "a1" * 20, "ready")
    s3 = aws.client("s3")
    assert s3.get_object(Bucket=site.bucket_name, Key=f"builds/{one.pk}/assets/video.bin")["Body"].read() == b"v" * LARGE
    assert s3.list_objects_v2(Bucket=site.bucket_name, Prefix="staging/").get("KeyCount") == 0  # the presigned PUT's copy is moved
    blobs = SiteBlob.objects.filter(site=site).count()
    assert blobs == 12

    # 2. One file changed: one file sent (the console asked for one, and the site holds one new content).
    build_folder(dist, changed="console.log('second');")
    second = gatehouse("deploy", str(dist), "--site", site.slug, "-m", "Second cut", "--wait", url=url, token=secret)
    assert second.returncode == OK, second.stderr + second.stdout
    out = second.stdout
    assert "1 of 12 files to upload" in out
    assert "✓ Check files: 12 files, 1 new to the site" in out and "✓ Make live" in out
    assert f"Live: {site.public_origin(HOST)}/" in out
    two = Build.objects.get(site=site, deploy_message="Second cut")
    assert (two.files_sent, two.bytes_sent) == (1, len("console.log('second');"))
    assert SiteBlob.objects.filter(site=site).count() == blobs + 1
    site.refresh_from_db()
    assert site.live_build == two
    wait_for(lambda: configs_uploaded(site), timeout=60, worker=celery_worker_process, what="the second build's config")
    assert served_build_id(site) == two.config_id

    # The builds page and `gatehouse builds` show message and commit.
    page = Client()
    page.force_login(olga)
    html = page.get(reverse("sites:builds", args=[site.slug])).content.decode()
    assert "First cut" in html and "Second cut" in html and "commit a1a1a1a1a1a1" in html
    builds = gatehouse("builds", site.slug, "--json", url=url, token=secret)
    assert builds.returncode == OK, builds.stderr
    listed = json.loads(builds.stdout)
    assert [(b["number"], b["deploy_message"], b["live"]) for b in listed] == [(two.number, "Second cut", True), (one.number, "First cut", False)]

    # 3. Roll back: the build before the live one is served again (the edge's config names it).
    back = gatehouse("rollback", site.slug, "--json", url=url, token=secret)
    assert back.returncode == OK, back.stderr
    assert json.loads(back.stdout)["live_build"] == one.number and json.loads(back.stdout)["previous_build"] == two.number
    site.refresh_from_db()
    assert site.live_build == one
    wait_for(lambda: configs_uploaded(site) and served_build_id(site) == one.config_id, timeout=60, worker=celery_worker_process, what="the rollback's config")
    status = gatehouse("status", site.slug, url=url, token=secret)
    assert status.returncode == OK and f"live build  {one.number}" in status.stdout and site.public_origin(HOST) in status.stdout


def test_a_token_without_deploy_scope_is_refused_with_exit_code_3(live_site, live_server, tmp_path):
    site, olga = live_site
    dist = build_folder(tmp_path / "dist")
    read_only = token(olga, "read", name="dashboard")

    refused = gatehouse("deploy", str(dist), "--site", site.slug, "--wait", url=live_server.url, token=read_only)
    assert refused.returncode == REFUSED, refused.stderr + refused.stdout
    line = refused.stderr.strip()
    assert line == (
        "error: The token 'dashboard' is read-only and may not 'upload_build'; use a token with a wider scope. (scope_forbidden)"
    ), line
    assert "Traceback" not in refused.stderr
    assert not Build.objects.filter(site=site).exists()
    as_json = gatehouse("deploy", str(dist), "--site", site.slug, "--json", url=live_server.url, token=read_only)
    assert as_json.returncode == REFUSED
    assert json.loads(as_json.stdout)["error"] | {"message": ""} == {"code": "scope_forbidden", "message": "", "status": 403, "exit_code": 3}

    # A deploy token for no site of its own, no token, a token that is not one: refused too.
    other = gatehouse("deploy", str(dist), "--site", site.slug, url=live_server.url, token=token(olga, "deploy", [], name="elsewhere"))
    assert other.returncode == REFUSED and "may not deploy to site 'acme-cli'" in other.stderr, other.stderr
    for secret, code in (("", "no_token"), ("gh_1_not-a-secret", "token_refused")):
        result = gatehouse("status", site.slug, url=live_server.url, token=secret)
        assert result.returncode == REFUSED and result.stderr.strip().endswith(f"({code})"), result.stderr
    # Reading is what a read-only token is for; inviting needs a token of scope "all".
    assert gatehouse("status", site.slug, url=live_server.url, token=read_only).returncode == OK
    invite = gatehouse("invite", site.slug, "Bea@Client.example", "--json", url=live_server.url, token=token(olga, "all", name="people"))
    assert invite.returncode == OK, invite.stderr
    assert [i["email"] for i in json.loads(invite.stdout)["invitations"]] == ["bea@client.example"]
    assert Invitation.objects.filter(site=site, email="bea@client.example").exists()


def test_an_unreachable_console_no_url_and_no_folder_have_their_own_exit_codes(tmp_path):
    dist = build_folder(tmp_path / "dist")
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = gatehouse("deploy", str(dist), "--site", "x", url=nowhere, token="gh_1_x", timeout=60)
    assert result.returncode == NETWORK and "Could not reach the console" in result.stderr and "(unreachable)" in result.stderr
    result = gatehouse("status", "x", url="", token="gh_1_x", timeout=60)
    assert result.returncode == USAGE and "Set GATEHOUSE_URL" in result.stderr and result.stderr.strip().endswith("(no_url)")
    result = gatehouse("deploy", str(tmp_path / "missing"), "--site", "x", "--json", url=nowhere, token="gh_1_x", timeout=60)
    assert result.returncode == INVALID and json.loads(result.stdout)["error"]["code"] == "no_such_folder"


def test_a_failed_deployment_is_exit_code_5_with_the_steps_reason_and_the_next_deploy_mends_it(live_site, live_server, tmp_path):
    site, olga = live_site
    secret = token(olga, "deploy", [site])
    dist = build_folder(tmp_path / "dist")
    # The console believes the bucket holds app.js's content, which the bucket lost: the CLI is not asked for it.
    app = (dist / "assets" / "app.js").read_bytes()
    SiteBlob.objects.create(site=site, sha256=hashlib.sha256(app).hexdigest(), size=len(app))

    failed = gatehouse("deploy", str(dist), "--site", site.slug, "--wait", url=live_server.url, token=secret)
    assert failed.returncode == FAILED, failed.stderr + failed.stdout
    assert "11 of 12 files to upload" in failed.stdout and "✗ Upload files: assets/app.js: its content is gone" in failed.stdout
    assert "Uploading" in failed.stderr  # the progress bar (stderr, so stdout stays the steps)
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Deployment ") and "failed at 'Upload files': assets/app.js" in last
    assert last.endswith("deploy again to send it (deployment_failed)")

    mended = gatehouse("deploy", str(dist), "--site", site.slug, "--wait", "--json", url=live_server.url, token=secret)
    assert mended.returncode == OK, mended.stderr + mended.stdout
    assert json.loads(mended.stdout)["uploaded_files"] == 1
