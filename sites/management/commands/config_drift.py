"""Compare each site's config object in S3 with the last revision uploaded for it."""

from django.core.management.base import BaseCommand, CommandError

from sites.context import change_context
from sites.services.config_operations import DRIFT_FIX_REASON, config_drift_find, configs_republish


class Command(BaseCommand):
    help = (
        "List hosts whose S3 config object is missing or differs from the last uploaded revision "
        "(exit status 1 when any is found); --fix republishes those sites."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="republish each drifted site (a new revision, uploaded)")

    def handle(self, *args, fix=False, **options):
        drift = config_drift_find()
        for item in drift:
            self.stdout.write(f"{item.state} {item.slug} {item.host} (last uploaded: revision {item.revision})")
        if not drift:
            self.stdout.write("no drift")
            return
        if fix:
            with change_context(reason=DRIFT_FIX_REASON):
                made = configs_republish(force=True, site_ids={item.site_id for item in drift}, reason=DRIFT_FIX_REASON)
            self.stdout.write(f"{len(made)} site(s) republished")
            return
        # Non-zero so a cron job or monitor notices.
        raise CommandError(f"{len(drift)} host(s) drifted; run with --fix to republish", returncode=1)
