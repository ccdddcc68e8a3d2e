"""Publish every site's config again through the publish service."""

from django.core.management.base import BaseCommand

from sites.context import change_context
from sites.services.config_operations import REPUBLISH_REASON, configs_republish


class Command(BaseCommand):
    help = (
        "Render every site's config again; a new revision (and its upload) only where the content changed. "
        "--force makes a revision for every site."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="a new revision for every site, changed or not")

    def handle(self, *args, force=False, **options):
        with change_context(reason=REPUBLISH_REASON):
            made = configs_republish(force=force)
        for revision in made:
            self.stdout.write(f"{revision.site.slug}: revision {revision.number}")
        self.stdout.write(f"{len(made)} site(s) republished")
