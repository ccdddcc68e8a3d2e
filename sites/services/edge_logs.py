"""Retention on the edge function's CloudWatch log groups, in every region.

Lambda@Edge writes each viewer request's logs in the region nearest the
viewer, to a group it creates itself with no retention: without this they are
kept (and billed) forever, in a dozen regions nobody looks at.
"""

import logging

from django.conf import settings

from .. import aws
from ..models import EdgeRelease

log = logging.getLogger(__name__)


def edge_function_names() -> list[str]:
    """Every shared edge function the console has published, the first always."""
    names = [aws.function_name_for_index(0)]
    names += EdgeRelease.objects.exclude(function_name="").values_list("function_name", flat=True).distinct()
    return list(dict.fromkeys(names))


def edge_log_retention_apply() -> dict[str, list[str]]:
    """Set GATEHOUSE_EDGE_LOG_RETENTION_DAYS on each edge function's groups; {function: regions}."""
    days = settings.GATEHOUSE_EDGE_LOG_RETENTION_DAYS
    regions = settings.GATEHOUSE_EDGE_LOG_REGIONS or aws.EDGE_LOG_REGIONS
    done = {}
    for name in edge_function_names():
        done[name] = aws.edge_log_retention_ensure(function_name=name, days=days, regions=regions)
    log.info("edge log retention %s days on %s function(s) in %s region(s)", days, len(done), len(regions))
    return done
