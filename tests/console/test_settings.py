"""Production refuses to start without its secrets; development needs nothing."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, **env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "DATABASE_URL", "SECRET_KEY", "DEBUG", "CELERY_"))}
    clean.update({"GATEHOUSE_ENV_FILE": os.devnull, "DJANGO_SETTINGS_MODULE": "console.settings"}, **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_secret_key_database_and_encryption_keys():
    result = manage("check", GATEHOUSE_ENV="production")
    assert result.returncode != 0
    for name in ("SECRET_KEY", "DATABASE_URL", "GATEHOUSE_ENCRYPTION_KEYS"):
        assert name in result.stderr


def test_debug_off_counts_as_production():
    result = manage("check", DEBUG="False")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_starts_with_its_settings():
    result = manage(
        "check",
        GATEHOUSE_ENV="production",
        SECRET_KEY="x" * 50,
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        GATEHOUSE_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="console.example",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        GATEHOUSE_STAGING_BUCKET="gatehouse-staging",
    )
    assert result.returncode == 0, result.stderr


def test_production_refuses_public_development_values():
    from console import settings as dev

    result = manage(
        "check",
        GATEHOUSE_ENV="production",
        SECRET_KEY=dev.DEV_SECRET_KEY,
        DATABASE_URL="sqlite:////tmp/gatehouse-test.sqlite3",
        GATEHOUSE_ENCRYPTION_KEYS=dev.DEV_ENCRYPTION_KEY,
    )
    assert result.returncode != 0
    for check_id in ("gatehouse.E001", "gatehouse.E002", "gatehouse.E004", "gatehouse.E006"):
        assert check_id in result.stderr


def test_a_malformed_encryption_key_fails_the_checks():
    result = manage("check", GATEHOUSE_ENCRYPTION_KEYS="not-a-key")
    assert result.returncode != 0
    assert "gatehouse.E003" in result.stderr


def test_development_needs_nothing(tmp_path):
    result = manage("check")
    assert result.returncode == 0, result.stderr


PRODUCTION = {
    "GATEHOUSE_ENV": "production",
    "SECRET_KEY": "x" * 50,
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "GATEHOUSE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "console.example",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "GATEHOUSE_STAGING_BUCKET": "gatehouse-staging",
}


def test_production_refuses_the_filesystem_broker():
    result = manage("check", **dict(PRODUCTION, CELERY_BROKER_URL="filesystem://"))
    assert result.returncode != 0
    assert "gatehouse.E007" in result.stderr
    unset = {k: v for k, v in PRODUCTION.items() if k != "CELERY_BROKER_URL"}
    result = manage("check", **unset)  # the default is the filesystem broker
    assert result.returncode != 0
    assert "gatehouse.E007" in result.stderr


def test_a_broker_url_that_is_not_one_fails_the_checks_without_showing_it():
    result = manage("check", **dict(PRODUCTION, CELERY_BROKER_URL="redis//:hunter2-password@redis:6379/0"))
    assert result.returncode != 0
    assert "gatehouse.E008" in result.stderr
    assert "hunter2" not in result.stderr


def test_production_refuses_allowed_hosts_that_accept_every_host():
    result = manage("check", **dict(PRODUCTION, ALLOWED_HOSTS="*"))
    assert result.returncode != 0
    assert "gatehouse.E009" in result.stderr


def test_production_refuses_to_stage_builds_on_its_own_disk():
    """Issue 9, item 1: without a staging bucket the web stages a build where the worker cannot read it."""
    unset = {k: v for k, v in PRODUCTION.items() if k != "GATEHOUSE_STAGING_BUCKET"}
    result = manage("check", **unset)
    assert result.returncode != 0
    assert "gatehouse.E010" in result.stderr and "GATEHOUSE_STAGING_BUCKET" in result.stderr
    assert "gatehouse.E010" not in manage("check", **PRODUCTION).stderr


def test_production_without_a_fingerprint_key_warns_and_with_one_is_clean():
    assert "gatehouse.W003" in manage("check", **PRODUCTION).stderr
    result = manage("check", **dict(PRODUCTION, GATEHOUSE_FINGERPRINT_KEY="y" * 50))
    assert result.returncode == 0, result.stderr
    assert "gatehouse.W" not in result.stderr


def _settings_env_names():
    import ast

    tree = ast.parse((ROOT / "console" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        reads_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
        )
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def test_env_example_lists_every_setting_the_settings_read():
    import re

    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.M))
    names = _settings_env_names()
    assert len(names) > 30  # the parser found the reads
    assert sorted(names - listed) == []
