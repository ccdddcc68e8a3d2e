"""Prepare the local stack (development only): a staff login, the local AWS's
config bucket, and the local OpenID Connect provider as a ready provider."""

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sites import aws
from sites.models import IdentityProvider
from sites.roles import ADMIN, OPERATOR, VIEWER, role_assign
from sites.services.providers import ProviderCheckError, provider_check

DEV_PROVIDER_NAME = "Local dev provider (devidp)"
# Password logins of the local stack, one per role (staff also sign in through devidp).
DEV_STAFF = (("admin", ADMIN), ("operator", OPERATOR), ("viewer", VIEWER))


class Command(BaseCommand):
    help = "Seed the development stack: staff login, config bucket, local provider."

    def add_arguments(self, parser):
        parser.add_argument("--credentials-file", required=True)
        parser.add_argument("--idp-issuer", default="http://localhost:9000/o")
        parser.add_argument("--idp-client-id", default="gatehouse-dev")
        parser.add_argument("--idp-client-secret", default="gatehouse-dev-secret")

    def handle(self, *args, credentials_file, idp_issuer, idp_client_id, idp_client_secret, **options):
        if settings.PRODUCTION:
            raise CommandError("dev_seed is for the local development stack only.")
        self._staff(credentials_file)
        aws.config_bucket_ensure()
        self.stdout.write("config bucket ready in the local AWS")
        # moto's SES sends only from verified identities, as SES does.
        for sender in sorted({settings.GATEHOUSE_SES_SENDER, settings.GATEHOUSE_EMAIL_FROM} - {""}):
            aws.email_identity_ensure(identity=sender, region_name=settings.GATEHOUSE_SES_REGION)
            self.stdout.write(f"SES sender verified in the local AWS: {sender}")
        self._provider(idp_issuer, idp_client_id, idp_client_secret)

    def _staff(self, credentials_file):
        """admin (superuser, Admin role) and demo operator and viewer logins; passwords in var/."""
        User = get_user_model()
        known = {}
        if os.path.exists(credentials_file):
            with open(credentials_file) as handle:
                known = dict(line.split(" ", 1) for line in handle.read().splitlines() if " " in line)
        for username, role in DEV_STAFF:
            user = User.objects.filter(username=username).first()
            if user is None:
                # A fresh password per machine, kept in var/ (never in the repo).
                password = secrets.token_urlsafe(12)
                if role == ADMIN:
                    user = User.objects.create_superuser(username, f"{username}@localhost", password)
                else:
                    user = User.objects.create_user(username, f"{username}@localhost", password, is_staff=True)
                known[username] = password
                self.stdout.write(f"staff login created: {username} ({role})")
            role_assign(user=user, role=role)
        # admin first: scripts/run-dev reads its password from the first line.
        with open(credentials_file, "w") as handle:
            handle.writelines(f"{name} {known[name]}\n" for name, _ in DEV_STAFF if name in known)

    def _provider(self, issuer, client_id, client_secret):
        provider = IdentityProvider.objects.filter(name=DEV_PROVIDER_NAME).first()
        if provider is None:
            provider = IdentityProvider(name=DEV_PROVIDER_NAME, issuer=issuer, client_id=client_id)
            provider.client_secret = client_secret
        try:
            provider_check(provider)
        except ProviderCheckError as exc:
            raise CommandError(f"the local provider did not answer: {exc}") from exc
        provider.save()
        self.stdout.write(f"provider ready: {provider.name} ({issuer})")
