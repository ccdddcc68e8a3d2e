"""The collector reads the edge's visit lines from moto's CloudWatch Logs, in every region, into Visit rows."""

import json
import time

import boto3
import pytest

from sites.models import Visit, VisitCursor
from sites.services import visits
from tests.console.aws_support import aws  # noqa: F401

pytestmark = pytest.mark.django_db

GROUP = "/aws/lambda/us-east-1.gatehouse-edge"
REGIONS = ["us-east-1", "eu-west-2"]


@pytest.fixture
def regions(settings):
    settings.GATEHOUSE_EDGE_LOG_REGIONS = REGIONS
    settings.GATEHOUSE_EDGE_FUNCTION_NAME = "gatehouse-edge"
    return REGIONS


def logs(aws, region):  # noqa: F811
    from django.conf import settings

    return boto3.client("logs", endpoint_url=settings.GATEHOUSE_AWS_ENDPOINT_URL, region_name=region)


def write(aws, region, *lines, stream="2026/12/02/[1]abc", at_ms=None):  # noqa: F811
    client = logs(aws, region)
    for call, kwargs in (("create_log_group", {"logGroupName": GROUP}), ("create_log_stream", {"logGroupName": GROUP, "logStreamName": stream})):
        try:
            getattr(client, call)(**kwargs)
        except client.exceptions.ResourceAlreadyExistsException:
            pass
    now = at_ms or int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": line if isinstance(line, str) else json.dumps(line)} for i, line in enumerate(lines)]
    client.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def signed_in(site, email="ann@client.example"):
    return {"gatehouse": "signed_in", "visit": 1, "site": site.slug, "host": "demo.acme.example", "method": "oidc", "sub": "u1", "email": email}


def test_it_collects_sign_ins_and_refusals_from_every_region_and_skips_other_lines(aws, site, regions):  # noqa: F811
    write(aws, "us-east-1", "START RequestId: r1 Version: 1", signed_in(site), {"gatehouse": "login_start", "site": site.slug})
    refused = {"gatehouse": "refused", "visit": 1, "site": site.slug, "host": "demo.acme.example", "sub": "u2",
               "email": "eve@elsewhere.example", "at": "callback", "why": ["e-mail rules: address not listed, domain not listed"]}
    write(aws, "eu-west-2", refused, {"gatehouse": "refused", "visit": 1, "site": "some-other-console"})
    result = visits.visits_collect()
    assert result.added == 2 and result.failed_regions == []
    rows = {v.kind: v for v in Visit.objects.all()}
    assert rows["signed_in"].email == "ann@client.example" and rows["signed_in"].region == "us-east-1"
    assert rows["signed_in"].method == "oidc" and rows["signed_in"].host == "demo.acme.example"
    assert rows["refused"].region == "eu-west-2" and rows["refused"].stage == "callback"
    assert rows["refused"].reasons == ["e-mail rules: address not listed, domain not listed"]
    assert set(VisitCursor.objects.values_list("region", flat=True)) == set(REGIONS)


def test_reading_the_same_lines_again_adds_nothing(aws, site, regions):  # noqa: F811
    write(aws, "us-east-1", signed_in(site))
    assert visits.visits_collect().added == 1
    # The cursor moved, but the overlap reads the line again: still one row.
    assert visits.visits_collect().added == 0
    VisitCursor.objects.update(last_timestamp_ms=0)
    assert visits.visits_collect().added == 0
    assert Visit.objects.count() == 1


def test_the_cursor_remembers_each_regions_newest_line(aws, site, regions):  # noqa: F811
    at = int(time.time() * 1000) - 60_000
    write(aws, "eu-west-2", signed_in(site), at_ms=at)
    visits.visits_collect()
    cursors = dict(VisitCursor.objects.values_list("region", "last_timestamp_ms"))
    assert cursors["eu-west-2"] == at
    assert cursors["us-east-1"] == 0  # the function never ran there: no group, no error


def test_a_region_that_fails_keeps_its_cursor_and_the_others_go_on(aws, site, regions, monkeypatch):  # noqa: F811
    write(aws, "us-east-1", signed_in(site))
    real = aws.edge_log_events

    def flaky(*, region_name, **kwargs):
        if region_name == "eu-west-2":
            raise aws.AwsTransientError("filter_log_events: Throttling", code="Throttling")
        return real(region_name=region_name, **kwargs)

    monkeypatch.setattr(aws, "edge_log_events", flaky)
    result = visits.visits_collect()
    assert result.added == 1 and result.failed_regions == ["eu-west-2"]
    assert "Throttling" in VisitCursor.objects.get(region="eu-west-2").last_error


def test_the_purge_deletes_visits_older_than_the_retention(site, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.GATEHOUSE_VISITS_RETENTION_DAYS = 30
    now = timezone.now()
    for days, key in ((31, "old"), (29, "new")):
        Visit.objects.create(site=site, kind="signed_in", occurred_at=now - timedelta(days=days), event_key=key)
    assert visits.visits_purge(now=now) == 1
    assert list(Visit.objects.values_list("event_key", flat=True)) == ["new"]
