from django.core.management.base import BaseCommand, CommandError

from sites.aws import AwsError
from sites.services.edge_logs import edge_log_retention_apply


class Command(BaseCommand):
    help = (
        "Create the edge function's CloudWatch log groups where absent and set their retention "
        "(GATEHOUSE_EDGE_LOG_RETENTION_DAYS) in every Lambda@Edge region (GATEHOUSE_EDGE_LOG_REGIONS). "
        "Beat also runs this daily."
    )

    def handle(self, *args, **options):
        try:
            done = edge_log_retention_apply()
        except AwsError as exc:
            raise CommandError(str(exc)) from None
        for name, regions in done.items():
            self.stdout.write(f"{name}: {len(regions)} region(s)")
