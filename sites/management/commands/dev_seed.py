"""Prepare the local stack (development only): a staff login, the local AWS's
config bucket, and the local OpenID Connect provider as a ready provider."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from sites import aws
from sites.models import IdentityProvider
from sites.services.providers import ProviderCheckError, provider_check

DEV_PROVIDER_NAME = "Local dev provider (devidp)"


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
        self._provider(idp_issuer, idp_client_id, idp_client_secret)

    def _staff(self, credentials_file):
        User = get_user_model()
        user = User.objects.filter(username="admin").first()
        if user is not None:
            return
        # A fresh password per machine, kept in var/ (never in the repo).
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@localhost", password)
        with open(credentials_file, "w") as handle:
            handle.write(f"admin {password}\n")
        self.stdout.write("staff login created")

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
