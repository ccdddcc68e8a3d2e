"""Staff are e-mailed a few days before a demo's access ends, with a link to extend it;
webhook endpoints that want it get the access.ending_soon event.

Once per site per end date: the AccessReminder row for (site, not_after) is
the claim. Extending access gives a new end date, so the next one is
reminded of again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .. import aws, mail
from ..models import AccessReminder, ProtectedSite
from . import webhooks

log = logging.getLogger(__name__)


def reminder_recipients(site: ProtectedSite) -> list[str]:
    recipients = list(settings.GATEHOUSE_ACCESS_REMINDER_TO)
    creator = site.created_by
    if creator is not None and creator.email:
        recipients.insert(0, creator.email)
    return list(dict.fromkeys(r.strip().lower() for r in recipients if r.strip()))


def access_reminders_send(*, now=None) -> int:
    """E-mail staff about every site whose access ends within GATEHOUSE_ACCESS_REMINDER_DAYS; how many sent."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.GATEHOUSE_ACCESS_REMINDER_DAYS)
    sites = (
        ProtectedSite.objects.filter(not_after__gt=now, not_after__lte=horizon, disabled=False)
        .exclude(status=ProtectedSite.Status.DELETING)
        .select_related("created_by")
    )
    sent = 0
    for site in sites:
        days_left = max(1, (site.not_after - now).days + (1 if (site.not_after - now).seconds else 0))
        reminder, _ = AccessReminder.objects.get_or_create(site=site, not_after=site.not_after)
        # The webhook event's own claim: once per end date, e-mail or not.
        if AccessReminder.objects.filter(pk=reminder.pk, event_emitted_at=None).update(event_emitted_at=now):
            webhooks.access_ending_emit(site=site, days_left=days_left)
        recipients = reminder_recipients(site)
        if not recipients:
            continue
        # The claim: only one run sends for this end date.
        if not AccessReminder.objects.filter(pk=reminder.pk, sent_at=None).update(sent_at=now):
            continue
        try:
            for to in recipients:
                message = mail.access_reminder_message(site=site, to=to, days_left=days_left)
                aws.email_send_raw(
                    sender=settings.GATEHOUSE_EMAIL_FROM,
                    recipients=[to],
                    raw=message.as_bytes(),
                    region_name=settings.GATEHOUSE_SES_REGION,
                )
        except aws.AwsError as exc:
            # Given back: the next run tries again.
            log.warning("access reminder for %s failed: %s", site.slug, exc)
            AccessReminder.objects.filter(pk=reminder.pk).update(
                sent_at=None, attempts=reminder.attempts + 1, last_error=str(exc)[:300]
            )
            continue
        AccessReminder.objects.filter(pk=reminder.pk).update(attempts=reminder.attempts + 1, last_error="")
        sent += 1
    return sent
