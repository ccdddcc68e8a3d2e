"""The production configuration, proven without Docker (issue 9, item 3).

gunicorn (the repository's gunicorn.conf.py), a Celery worker and celery
beat run as separate processes with GATEHOUSE_ENV=production settings:
secrets from the environment, PostgreSQL (a database of the test's own,
created and dropped here), Redis (a database number of its own), moto's
server as the AWS endpoint, the S3 staging bucket, and a separate
GATEHOUSE_VAR_DIR per process, so they share no disk: only the database,
the broker and S3, as in the compose file.

Staff sign in over HTTP (production redirects to https and trusts
X-Forwarded-Proto, as behind the TLS proxy), onboard a site through the
onboarding form with a zip, and the build is served through the edge
gateway once the visitor signs in with the OpenID Connect provider.

On main before the staging bucket, the web staged the zip in its own
var/media and the worker failed the build: "the staged archive is gone".
"""

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from tests.e2e.support import FAKE_AWS, gateway_start, reload_until, s3_client, site_zip
from tests.fixtures.ports import free_port

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/7"
STAGING_BUCKET = "gatehouse-prod-staging"
CONFIG_BUCKET = "gatehouse-prod-config"
HOST = "prodmode.localhost"
STAFF = ("ops", "a-long-staff-password-41c9")


# --- the services the processes share ---------------------------------------------------------------


@pytest.fixture
def postgres_database():
    """A PostgreSQL database of this test's own (never `test` or `test_test`), dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({type(exc).__name__})")
    name = f"gatehouse_prod_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def redis_broker():
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    connection.flushdb()
    yield REDIS_URL
    connection.flushdb()
    connection.close()


class Process:
    """A console process started from the repository, its output in a file."""

    def __init__(self, name: str, args: list[str], env: dict, work: Path):
        self.name = name
        self.log_path = work / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def log(self, tail=4000) -> str:
        return self.log_path.read_text(errors="replace")[-tail:]

    def wait_for_line(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_path.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.log()}")
            time.sleep(0.2)
        pytest.fail(f"{self.name} never logged {text!r}:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def production_env(*, database_url, broker_url, moto_endpoint, var_dir: Path, gateway_port: int, **extra) -> dict:
    var_dir.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
    return {
        **keep,
        **FAKE_AWS,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "console.settings",
        # Nothing from a developer's .env: every value below is the environment's.
        "GATEHOUSE_ENV_FILE": os.devnull,
        "GATEHOUSE_ENV": "production",
        "SECRET_KEY": SECRETS["SECRET_KEY"],
        "GATEHOUSE_ENCRYPTION_KEYS": SECRETS["GATEHOUSE_ENCRYPTION_KEYS"],
        "GATEHOUSE_FINGERPRINT_KEY": SECRETS["GATEHOUSE_FINGERPRINT_KEY"],
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "GATEHOUSE_VAR_DIR": str(var_dir),
        "GATEHOUSE_AWS_ENDPOINT_URL": moto_endpoint,
        "GATEHOUSE_CONFIG_BUCKET": CONFIG_BUCKET,
        "GATEHOUSE_STAGING_BUCKET": STAGING_BUCKET,
        # The OpenID Connect provider of this test lives on loopback.
        "GATEHOUSE_PROVIDER_ALLOW_PRIVATE": "True",
        # Viewers reach the site through the local gateway, on plain http.
        "GATEHOUSE_EDGE_PUBLIC_SCHEME": "http",
        "GATEHOUSE_EDGE_PUBLIC_PORT": str(gateway_port),
        # moto deploys at once; production's 30 s poll would only slow this down.
        "GATEHOUSE_PROVISION_POLL_SECONDS": "1",
        **extra,
    }


SECRETS = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "GATEHOUSE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "GATEHOUSE_FINGERPRINT_KEY": secrets.token_urlsafe(50),
}


def manage(env, *args, timeout=180):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result


class Browser:
    """Plain HTTP as the TLS proxy forwards it: X-Forwarded-Proto https, cookies kept by hand.

    The console's cookies are Secure; requests would not send them back over
    http, so they are kept here and sent on every request.
    """

    def __init__(self, origin: str):
        self.origin = origin
        self.cookies: dict[str, str] = {}

    def request(self, method, path, **kwargs):
        headers = {
            "X-Forwarded-Proto": "https",
            # What a browser sends on an https form post (Django's CSRF origin check).
            "Origin": "https://" + self.origin.split("://", 1)[1],
            **kwargs.pop("headers", {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = requests.request(method, self.origin + path, headers=headers, allow_redirects=False, timeout=30, **kwargs)
        for header in response.raw.headers.getlist("Set-Cookie"):
            cookie = SimpleCookie()
            cookie.load(header)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response

    def csrf_token(self, path) -> str:
        response = self.request("GET", path)
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)[1]


def wait_for_row(database_url, query, params, *, timeout, what, processes):
    """Poll `query` until it returns a row; fail at once when a build or deployment failed."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(query, params).fetchone()
            if row and all(value is not None for value in row):
                return row
            if connection.execute("SELECT 1 FROM sites_deployment WHERE status = 'failed'").fetchone():
                break
            time.sleep(0.5)
        builds = connection.execute("SELECT id, status, message FROM sites_build ORDER BY id").fetchall()
        deployments = connection.execute("SELECT kind, status, message FROM sites_deployment ORDER BY id").fetchall()
    logs = "\n".join(f"--- {p.name} ---\n{p.log()}" for p in processes)
    pytest.fail(f"gave up waiting for {what}; builds {builds}; deployments {deployments}\n{logs}")


# --- the test ---------------------------------------------------------------------------------------


def test_production_processes_onboard_a_site_through_http_and_the_gateway_serves_its_build(
    postgres_database, redis_broker, moto_reset, idp, page, tmp_path
):
    moto = moto_reset
    s3 = s3_client(moto.endpoint_url)
    # The operator makes the staging bucket once (README, Operations).
    s3.create_bucket(Bucket=STAGING_BUCKET)
    gateway = gateway_start(
        tmp_path, bucket=CONFIG_BUCKET, prefix="sites/", endpoint_url=moto.endpoint_url, args=["--origin-s3"]
    )
    started: list[Process] = []
    try:
        common = dict(
            database_url=postgres_database,
            broker_url=redis_broker,
            moto_endpoint=moto.endpoint_url,
            gateway_port=gateway.port,
        )
        web_port = free_port()
        web_env = production_env(
            var_dir=tmp_path / "web-var",
            STATIC_ROOT=str(tmp_path / "web-static"),
            GUNICORN_BIND=f"127.0.0.1:{web_port}",
            GUNICORN_WORKERS="2",
            GUNICORN_THREADS="2",
            **common,
        )
        # The compose file's one-shot migrate service, then the image's collectstatic.
        manage(web_env, "migrate", "--noinput")
        manage(web_env, "collectstatic", "--noinput", "--verbosity", "0")
        manage(
            web_env,
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; from sites.roles import ADMIN, role_assign; "
            f"u = get_user_model().objects.create_user({STAFF[0]!r}, 'ops@consultancy.example', {STAFF[1]!r}, is_staff=True); "
            "role_assign(user=u, role=ADMIN)",
        )

        web = Process("gunicorn", [sys.executable, "-m", "gunicorn", "console.wsgi", "--config", "gunicorn.conf.py"], web_env, tmp_path)
        started.append(web)
        worker_env = production_env(var_dir=tmp_path / "worker-var", **common)
        worker = Process(
            "worker",
            [sys.executable, "-m", "celery", "-A", "console", "worker", "--loglevel=INFO", "--concurrency=2",
             "--without-gossip", "--without-mingle", "--hostname=prod@%h"],
            worker_env,
            tmp_path,
        )
        started.append(worker)
        beat_env = production_env(var_dir=tmp_path / "beat-var", **common)
        beat = Process("beat", [sys.executable, "-m", "celery", "-A", "console", "beat", "--loglevel=INFO"], beat_env, tmp_path)
        started.append(beat)
        web.wait_for_line("Booting worker")
        worker.wait_for_line(" ready.")
        beat.wait_for_line("beat: Starting")

        console = Browser(f"http://127.0.0.1:{web_port}")
        deadline = time.monotonic() + 30
        while True:
            try:
                if console.request("GET", "/healthz").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, web.log()
            time.sleep(0.2)

        # Production: plain http without the proxy's header goes to https.
        plain = requests.get(console.origin + "/login/", allow_redirects=False, timeout=10)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")

        # Staff sign in with a password (bootstrap), behind the "proxy".
        token = console.csrf_token("/login/")
        response = console.request(
            "POST", "/login/", data={"csrfmiddlewaretoken": token, "username": STAFF[0], "password": STAFF[1]}
        )
        assert response.status_code == 302, response.text[:1000]
        assert "sessionid" in console.cookies

        # Onboard a site through the form, with its build as a zip.
        token = console.csrf_token("/onboard/")
        response = console.request(
            "POST",
            "/onboard/",
            data={
                "csrfmiddlewaretoken": token,
                "client": "Prod Co",
                "name": "Production mode",
                "slug": "prod-mode",
                "hosts": HOST,
                "acm_certificate_arn": f"arn:aws:acm:us-east-1:123456789012:certificate/{uuid.uuid4()}",
                "provider_choice": "new",
                "provider_name": "devidp",
                "provider_preset": "oidc",
                "provider_issuer": idp.issuer,
                "provider_client_id": idp.client_id,
                "provider_client_secret": idp.client_secret,
                "provider_token_endpoint_auth_method": "client_secret_basic",
                "provider_scopes": "openid email profile",
                "emails": "",
                "email_domains": "client.example",
                "groups_claim": "",
                "groups": "",
                "session_hours": "8",
                "not_after": "",
                "public_paths": "",
            },
            files={"build": ("site.zip", site_zip("Production build"), "application/zip")},
        )
        assert response.status_code == 302, f"onboarding answered {response.status_code}:\n{response.text[:3000]}\n{web.log()}"
        assert response.headers["Location"].endswith("/sites/prod-mode/")

        processes = [web, worker, beat]
        wait_for_row(
            postgres_database,
            "SELECT s.id FROM sites_protectedsite s WHERE s.slug = %s AND s.status = 'live'",
            ("prod-mode",),
            timeout=180,
            what="the site to go live",
            processes=processes,
        )
        wait_for_row(
            postgres_database,
            "SELECT b.id FROM sites_protectedsite s JOIN sites_build b ON b.id = s.live_build_id "
            "WHERE s.slug = %s AND b.status = 'ready'",
            ("prod-mode",),
            timeout=120,
            what="the onboarding build to go live (read by the worker from the staging bucket)",
            processes=processes,
        )
        wait_for_row(
            postgres_database,
            "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM sites_configrevision r JOIN sites_protectedsite s ON s.id = r.site_id "
            "WHERE s.slug = %s AND r.upload_status IN ('pending', 'uploading'))",
            ("prod-mode",),
            timeout=120,
            what="the config naming the build to be uploaded",
            processes=processes,
        )
        # The web staged the zip in S3, never on its own disk; uploaded, the
        # staged copy is gone from the staging bucket too.
        assert not list((tmp_path / "web-var").rglob("*.zip"))
        assert s3.list_objects_v2(Bucket=STAGING_BUCKET, Prefix="staged-builds/").get("KeyCount", 0) == 0

        # The database, the broker and S3 answer.
        ready = console.request("GET", "/readyz")
        assert ready.status_code == 200, ready.text
        assert {name for name, check in ready.json()["checks"].items() if check["ok"]} == {"database", "broker", "s3"}

        # A visitor signs in with the provider and sees the build, through the edge.
        site_url = f"http://{HOST}:{gateway.port}"
        page.goto(site_url + "/")
        assert page.url.startswith("http://localhost:"), page.url
        page.get_by_label("Username").fill("ann")
        page.get_by_label("Password").fill("demo-password")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(site_url + "/")
        reload_until(page, site_url + "/", "Production build")

        for process in started:
            assert process.process.poll() is None, f"{process.name} exited:\n{process.log()}"
    finally:
        for process in reversed(started):
            process.stop()
        gateway.stop()
