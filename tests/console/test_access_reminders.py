"""Staff are e-mailed a few days before a demo's access ends, with a link to extend it; once per site per end date."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sites.models import AccessReminder, ProtectedSite
from sites.services.reminders import access_reminders_send
from tests.console.aws_support import ses_identity_verify, aws, parts, ses_sent  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def ses(aws, settings):  # noqa: F811
    settings.GATEHOUSE_EMAIL_FROM = "demos@northwind.example"
    settings.GATEHOUSE_SES_REGION = "us-east-1"
    settings.GATEHOUSE_CONSOLE_URL = "https://gatehouse.northwind.example"
    settings.GATEHOUSE_ACCESS_REMINDER_DAYS = 3
    settings.GATEHOUSE_ACCESS_REMINDER_TO = ["demos-team@northwind.example"]
    ses_identity_verify("demos@northwind.example", "us-east-1")
    return aws


def ends_in(site, alice, days):
    ProtectedSite.objects.filter(pk=site.pk).update(not_after=timezone.now() + timedelta(days=days), created_by=alice)


def test_staff_are_reminded_once_per_end_date_with_a_link_to_extend(ses, site, alice, settings):
    ends_in(site, alice, 2)
    assert access_reminders_send() == 1
    sent = ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL)
    assert sorted(m["To"] for m in sent) == ["alice@gatehouse.example", "demos-team@northwind.example"]
    body = parts(sent[0])
    for text in body.values():
        assert "https://gatehouse.northwind.example/sites/acme-demo/#action-extend" in text
        assert "in 2 days" in text
    assert access_reminders_send() == 0
    assert len(ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL)) == 2
    # Extended, but still soon: the new end date gets its own reminder.
    ends_in(site, alice, 1)
    assert access_reminders_send() == 1
    assert AccessReminder.objects.count() == 2


def test_a_demo_ending_later_than_the_lead_time_or_already_ended_is_not_reminded(ses, site, alice, settings):
    ends_in(site, alice, 10)
    assert access_reminders_send() == 0
    ends_in(site, alice, -1)
    assert access_reminders_send() == 0
    assert ses_sent(settings.GATEHOUSE_AWS_ENDPOINT_URL) == []


def test_a_failed_reminder_is_tried_again_next_time(ses, site, alice, settings):
    ends_in(site, alice, 2)
    settings.GATEHOUSE_EMAIL_FROM = "unverified@northwind.example"
    assert access_reminders_send() == 0
    reminder = AccessReminder.objects.get()
    assert reminder.sent_at is None and "authority" in reminder.last_error
    settings.GATEHOUSE_EMAIL_FROM = "demos@northwind.example"
    assert access_reminders_send() == 1
