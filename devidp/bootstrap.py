"""What devidp needs before Django starts (data dir, keys) and after (schema, seed)."""

import os
import secrets
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "var" / "devidp"


def _write_private(path: Path, text: str):
    # Create 0600 from the start: a key must never exist world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def ensure_data_dir(data_dir: Path):
    """Create the data dir, the Django secret key and the RSA signing key once.

    Both keys are kept across restarts so sessions, issued tokens and any JWKS a
    relying party cached stay valid.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_key = data_dir / "secret_key"
    if not secret_key.exists():
        _write_private(secret_key, secrets.token_urlsafe(50))
    signing_key = data_dir / "oidc_rsa_private_key.pem"
    if not signing_key.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(signing_key, pem.decode())


def _schema_fingerprint():
    import hashlib

    from django.apps import apps
    from django.db import connection

    columns = sorted(
        (model._meta.db_table, field.column, str(field.db_type(connection)), field.null)
        for model in apps.get_models()
        for field in model._meta.local_concrete_fields
    )
    return hashlib.sha256(repr(columns).encode()).hexdigest()


def ensure_schema(data_dir: Path):
    """Create the tables from the models; start over if the models changed.

    Nothing in the database is precious (users and clients are re-seeded), so a
    changed model (a django-oauth-toolkit upgrade, a devidp edit) simply means a
    new database rather than migrations.
    """
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    fingerprint = _schema_fingerprint()
    marker = data_dir / "schema_fingerprint"
    database = Path(settings.DATABASES["default"]["NAME"])
    if marker.exists() and marker.read_text() == fingerprint and database.exists():
        return
    connections.close_all()
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        path.unlink(missing_ok=True)
    call_command("migrate", run_syncdb=True, interactive=False, verbosity=0)
    marker.write_text(fingerprint)


def seed(*, client_id: str, client_secret: str):
    """Create or reset the seeded users and clients; safe to run on every start."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from oauth2_provider.models import get_application_model

    from devidp import personas
    from devidp.models import Profile

    Application = get_application_model()
    with transaction.atomic():
        for username, persona in personas.USERS.items():
            first, _, last = persona["name"].partition(" ")
            user, _ = User.objects.update_or_create(
                username=username, defaults={"email": persona["email"], "first_name": first, "last_name": last}
            )
            if not user.check_password(personas.PASSWORD):
                user.set_password(personas.PASSWORD)
                user.save(update_fields=["password"])
            Profile.objects.update_or_create(user=user, defaults={"email_verified": persona["email_verified"]})
            user.groups.set([Group.objects.get_or_create(name=name)[0] for name in persona["groups"]])

        common = {
            "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
            "algorithm": Application.RS256_ALGORITHM,
            "skip_authorization": True,
            "redirect_uris": " ".join(personas.EXAMPLE_REDIRECT_URIS),
            "post_logout_redirect_uris": " ".join(personas.EXAMPLE_POST_LOGOUT_REDIRECT_URIS),
        }
        Application.objects.update_or_create(
            client_id=client_id,
            defaults={
                **common,
                "name": "Gatehouse (dev)",
                "client_type": Application.CLIENT_CONFIDENTIAL,
                # Hashed on save; the plain value is only ever in personas / the CLI.
                "client_secret": client_secret,
                "hash_client_secret": True,
            },
        )
        Application.objects.update_or_create(
            client_id=personas.CONSOLE_CLIENT_ID,
            defaults={
                **common,
                "name": "Gatehouse console staff sign-in (dev)",
                "client_type": Application.CLIENT_CONFIDENTIAL,
                "redirect_uris": " ".join(personas.EXAMPLE_CONSOLE_REDIRECT_URIS),
                "post_logout_redirect_uris": "",
                "client_secret": personas.CONSOLE_CLIENT_SECRET,
                "hash_client_secret": True,
            },
        )
        Application.objects.update_or_create(
            client_id=personas.PUBLIC_CLIENT_ID,
            defaults={
                **common,
                "name": "Gatehouse (dev, public client)",
                "client_type": Application.CLIENT_PUBLIC,
                "client_secret": "",
                "hash_client_secret": False,
            },
        )
