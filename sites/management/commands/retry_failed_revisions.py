"""Upload again every site's newest config revision whose upload failed, now, whatever its backoff."""

from django.core.management.base import BaseCommand

from sites.services.publishing import revisions_retry_failed


class Command(BaseCommand):
    help = "Re-enqueue the upload of each site's newest failed config revision (ignores the sweep's backoff)."

    def handle(self, *args, **options):
        ids = revisions_retry_failed(force=True)
        self.stdout.write(f"{len(ids)} failed revision(s) re-enqueued")
