"""Delete staged build zips that no pending build reads, once past their max age (beat does this hourly)."""

from django.core.management.base import BaseCommand

from sites.services.staged_uploads import staged_uploads_purge


class Command(BaseCommand):
    help = (
        "Delete staged build zips older than GATEHOUSE_STAGED_UPLOAD_MAX_AGE_SECONDS that no build "
        "still staged or uploading reads (the staging bucket, or MEDIA_ROOT in development)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--max-age", type=int, default=None, help="seconds (default: the setting)")
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")

    def handle(self, *args, max_age=None, dry_run=False, **options):
        result = staged_uploads_purge(max_age_seconds=max_age, dry_run=dry_run)
        for name in result.purged:
            self.stdout.write(("would delete " if dry_run else "deleted ") + name)
        self.stdout.write(
            f"{len(result.purged)} stale staged upload(s) {'to delete' if dry_run else 'deleted'}; "
            f"kept {result.kept_pending} for pending builds and {result.kept_fresh} younger than the max age"
        )
