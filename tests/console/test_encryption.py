"""Secrets at rest: never in clear in the database, and rotatable."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from sites.crypto import SecretUnreadable
from sites.models import IdentityProvider, SessionKey
from tests.console.conftest import CLIENT_SECRET


def raw_dump():
    """Every text column of every Gatehouse table, read with plain SQL."""
    out = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table.startswith("sites_"):
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names from introspection
                out.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(out)


def test_no_secret_is_in_the_database_in_clear(site):
    dump = raw_dump()
    assert CLIENT_SECRET not in dump
    keys = list(site.session_keys.all())
    assert keys
    for key in keys:
        assert key.secret not in dump
        assert key.secret_encrypted in dump


def test_secrets_read_back_after_a_fresh_load(provider):
    assert IdentityProvider.objects.get(pk=provider.pk).client_secret == CLIENT_SECRET


def test_rotation_re_encrypts_every_secret_with_the_new_key(site, settings):
    old_key = settings.GATEHOUSE_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = dict(SessionKey.objects.values_list("pk", "secret_encrypted"))
    settings.GATEHOUSE_ENCRYPTION_KEYS = [new_key, old_key]

    call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))

    settings.GATEHOUSE_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    provider = IdentityProvider.objects.get(pk=site.provider_id)
    assert provider.client_secret == CLIENT_SECRET
    for key in SessionKey.objects.all():
        assert key.secret_encrypted != before[key.pk]
        assert len(key.secret) >= 43


def test_rotation_stops_if_a_secret_cannot_be_read(site, settings):
    settings.GATEHOUSE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="keep the old key"):
        call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))


def test_a_wrong_key_is_an_error_not_garbage(provider, settings):
    settings.GATEHOUSE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(SecretUnreadable):
        IdentityProvider.objects.get(pk=provider.pk).client_secret


def test_rotation_does_not_publish_a_new_revision(site, settings, django_capture_on_commit_callbacks):
    settings.GATEHOUSE_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), *settings.GATEHOUSE_ENCRYPTION_KEYS]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        call_command("rotate_encryption_key", stdout=open("/dev/null", "w"))
    assert callbacks == []
    assert site.revisions.count() == 1
