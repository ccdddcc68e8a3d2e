"""The image and compose file, checked by reading them (no registry here to build)."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEV_AND_TEST = {"moto", "pytest", "pytest-django", "playwright", "django-oauth-toolkit", "pyyaml"}


def _requirement_names(path):
    names = set()
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[\[=<>~!; ]", line, maxsplit=1)[0].lower())
    return names


def _dockerfile():
    return (ROOT / "Dockerfile").read_text()


def _stages():
    return re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", _dockerfile(), flags=re.M | re.I)


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_runtime_requirements_exclude_development_and_test_packages():
    runtime = _requirement_names("requirements.txt")
    assert {"django", "celery", "gunicorn", "sentry-sdk"} <= runtime
    assert runtime & DEV_AND_TEST == set()
    everything = _requirement_names("requirements-dev.txt") | _requirement_names("requirements-test.txt")
    assert DEV_AND_TEST <= everything | {"pyyaml"}
    assert "-r requirements-dev.txt" in (ROOT / "requirements-test.txt").read_text()
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_the_image_is_multi_stage_on_the_edge_runtime_python_with_runtime_requirements_only():
    from django.conf import settings

    text = _dockerfile()
    assert len(_stages()) >= 2
    minor = settings.GATEHOUSE_EDGE_RUNTIME.removeprefix("python")  # "3.12"
    assert re.search(rf"^ARG PYTHON_IMAGE=python:{re.escape(minor)}-slim$", text, flags=re.M)
    assert all(image == "${PYTHON_IMAGE}" for image, _ in _stages())
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs and all("requirements.txt" in line and "-dev" not in line and "-test" not in line for line in installs)
    assert "COPY --from=build /opt/venv /opt/venv" in text


def test_the_image_runs_as_a_non_root_user_with_only_var_writable():
    text = _dockerfile()
    final = text[text.rindex("\nFROM ") :]
    users = re.findall(r"^USER\s+(\S+)", final, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"chown -R gatehouse:gatehouse /app/var", final)
    assert "GATEHOUSE_VAR_DIR=/app/var" in final
    assert "gunicorn.conf.py" in final.splitlines()[-1]


def test_dockerignore_keeps_secrets_state_and_history_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for entry in (".env", "var/", ".git", ".venv/", "test-artifacts/", "node_modules/"):
        assert entry in ignored, entry
    assert "!.env.example" in ignored


def test_gunicorn_is_configured_for_uploads():
    import runpy

    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["worker_class"] == "gthread"
    assert config["threads"] >= 2
    assert config["timeout"] >= 60
    assert config["graceful_timeout"] >= 30
    assert config["limit_request_line"] > 0
    assert callable(config["on_starting"])  # the system checks before serving


def test_compose_puts_tls_in_front_and_never_publishes_the_console_port(compose):
    services = compose["services"]
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy")
    assert any(str(port).endswith(":443") for port in proxy["ports"])
    assert "ports" not in services["web"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert not str(port).endswith("8000"), name
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert "reverse_proxy web:8000" in caddyfile
    assert "tls " in caddyfile


def test_compose_healthchecks_web_and_worker_and_waits_for_migrations(compose):
    services = compose["services"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(services["worker"]["healthcheck"]["test"])
    assert "migrate" in services["migrate"]["command"]
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully", name
        assert "migrate" not in str(services[name]["command"]), name
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_compose_has_no_default_password_and_redis_requires_one(compose):
    text = (ROOT / "docker-compose.yml").read_text()
    assert re.findall(r"\$\{POSTGRES_PASSWORD[^}]*\}", text)
    for use in re.findall(r"\$\{(?:POSTGRES_PASSWORD|REDIS_PASSWORD|SECRET_KEY|GATEHOUSE_ENCRYPTION_KEYS)[^}]*\}", text):
        assert ":?" in use, use  # required, never ":-default"
    services = compose["services"]
    assert "requirepass" in " ".join(services["redis"]["command"])
    web_env = services["web"]["environment"]
    assert web_env["CELERY_BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    assert web_env["GATEHOUSE_ENV"] == "production"


def test_compose_console_services_share_no_disk_and_stage_builds_in_s3(compose):
    """Issue 9, item 1: web, worker and beat share nothing but the database, the broker and S3.

    Before, every console service mounted the one console-var volume, so a
    build staged on the web's disk looked reachable from the worker in
    compose and nowhere else."""
    services = compose["services"]
    owners: dict[str, list[str]] = {}
    for name in ("migrate", "web", "worker", "beat"):
        for volume in services[name].get("volumes", []):
            owners.setdefault(str(volume).split(":", 1)[0], []).append(name)
    assert {volume: names for volume, names in owners.items() if len(names) > 1} == {}
    for name in ("migrate", "web", "worker", "beat"):
        assert services[name]["environment"]["GATEHOUSE_STAGING_BUCKET"].startswith("${GATEHOUSE_STAGING_BUCKET:?"), name
