from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sites.crypto import SecretUnreadable, secret_reencrypt
from sites.models import IdentityProvider, SessionKey

# Every column that holds a Fernet token.
ENCRYPTED_COLUMNS = [
    (IdentityProvider, "client_secret_encrypted"),
    (SessionKey, "secret_encrypted"),
]


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of GATEHOUSE_ENCRYPTION_KEYS. "
        "Prepend the new key, run this, then remove the old key."
    )

    def handle(self, *args, **options):
        total = 0
        for model, column in ENCRYPTED_COLUMNS:
            count = 0
            rows = model.objects.exclude(**{column: ""}).values_list("pk", column)
            for pk, token in rows.iterator(chunk_size=500):
                try:
                    fresh = secret_reencrypt(token)
                except SecretUnreadable:
                    raise CommandError(
                        f"{model.__name__} {pk}: no configured key decrypts it; keep the old key in "
                        "GATEHOUSE_ENCRYPTION_KEYS until every secret is re-encrypted."
                    ) from None
                # update(), not save(): the secret itself is unchanged, so
                # no signal should publish a config for this.
                with transaction.atomic():
                    count += model.objects.filter(pk=pk, **{column: token}).update(**{column: fresh})
            self.stdout.write(f"{model._meta.verbose_name_plural}: {count} re-encrypted")
            total += count
        self.stdout.write(self.style.SUCCESS(f"{total} secret(s) now use the first key."))
