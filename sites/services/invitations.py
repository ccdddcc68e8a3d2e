"""Invitations: client addresses added to a site's allowed e-mails and sent a message through SES.

Adding is one transaction (the addresses join the site's e-mails, which
publishes a new config through the signals, and the Invitation rows are
made); the e-mail goes from a Celery task once that has committed. A send
that fails is recorded on the invitation and retried; nothing is half-saved.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from .. import aws, enqueue, mail
from ..context import change_context
from ..models import Activity, Invitation, ProtectedSite

log = logging.getLogger(__name__)

# A "sending" claim older than this is taken to be from a worker that died.
SEND_LEASE = timedelta(minutes=10)
MAX_EMAIL = 254


def email_normalise(value: str) -> str:
    """A lower-case address, or ValidationError (over-long, not an address, a line break)."""
    email = value.strip().lower()
    if len(email) > MAX_EMAIL or any(c in email for c in "\r\n\0"):
        raise ValidationError(f"Not an e-mail address: {value[:60]!r}")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"Not an e-mail address: {value[:60]!r}") from None
    return email


def invitations_add(*, site: ProtectedSite, emails: list[str], actor) -> list[Invitation]:
    """Allow and invite each address; an address already invited is invited again."""
    addresses = list(dict.fromkeys(email_normalise(e) for e in emails))
    if not addresses:
        raise ValidationError("Give at least one e-mail address.")
    with change_context(actor=actor, reason=f"invited {', '.join(addresses)}"), transaction.atomic():
        site = ProtectedSite.objects.select_for_update().get(pk=site.pk)
        missing = [a for a in addresses if a not in site.emails]
        if missing:
            site.emails = [*site.emails, *missing]
            site.full_clean()
            site.save(update_fields=["emails", "updated_at"])
        invitations = []
        for address in addresses:
            invitation, _ = Invitation.objects.get_or_create(site=site, email=address, defaults={"invited_by": actor})
            _send_later(invitation)
            invitations.append(invitation)
        Activity.record(verb="site.invite", site=site, actor=actor, detail=", ".join(addresses))
    return invitations


def invitation_resend(*, invitation: Invitation, actor) -> None:
    with transaction.atomic():
        _send_later(invitation)
        Activity.record(verb="site.invite_resend", site=invitation.site, actor=actor, detail=invitation.email)


def invitation_remove(*, invitation: Invitation, actor) -> None:
    """Remove the invitation and the address from the site's allowed e-mails."""
    with change_context(actor=actor, reason=f"removed {invitation.email}"), transaction.atomic():
        site = ProtectedSite.objects.select_for_update().get(pk=invitation.site_id)
        if invitation.email in site.emails:
            site.emails = [e for e in site.emails if e != invitation.email]
            site.save(update_fields=["emails", "updated_at"])
        invitation.delete()
        Activity.record(verb="site.uninvite", site=site, actor=actor, detail=invitation.email)


def _send_later(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.PENDING, last_error="")
    enqueue.invitation_send_on_commit(invitation.pk)


def invitation_send(*, invitation_id: int) -> str:
    """Send one pending invitation; "sent", "skipped" (not pending, or another worker has it).

    The claim is a conditional UPDATE, so two deliveries never both send. A
    transient AWS error puts it back to pending and is raised for the task's
    retry; any other refusal marks it failed, with the reason, for staff.
    """
    now = timezone.now()
    claimable = Invitation.objects.filter(pk=invitation_id, status=Invitation.Status.PENDING) | Invitation.objects.filter(
        pk=invitation_id, status=Invitation.Status.SENDING, claimed_at__lt=now - SEND_LEASE
    )
    if not Invitation.objects.filter(pk__in=claimable.values("pk")).update(status=Invitation.Status.SENDING, claimed_at=now):
        return "skipped"
    invitation = Invitation.objects.select_related("site__provider").get(pk=invitation_id)
    attempts = invitation.attempts + 1
    try:
        # Checked again here, whatever wrote the row: SES is never asked to
        # send to a value that is not one plain address.
        email = email_normalise(invitation.email)
    except ValidationError:
        Invitation.objects.filter(pk=invitation_id).update(
            status=Invitation.Status.FAILED, attempts=attempts, last_error="not one e-mail address"
        )
        return "failed"
    message = mail.invitation_message(site=invitation.site, email=email)
    # Outside any transaction: SES may take seconds, and the claim is already committed.
    try:
        message_id = aws.email_send_raw(
            sender=settings.GATEHOUSE_EMAIL_FROM,
            recipients=[email],
            raw=message.as_bytes(),
            region_name=settings.GATEHOUSE_SES_REGION,
        )
    except aws.AwsTransientError as exc:
        Invitation.objects.filter(pk=invitation_id).update(
            status=Invitation.Status.PENDING, attempts=attempts, last_error=str(exc)[:300]
        )
        raise
    except aws.AwsError as exc:
        log.warning("invitation %s to %s failed: %s", invitation_id, invitation.email, exc)
        Invitation.objects.filter(pk=invitation_id).update(
            status=Invitation.Status.FAILED, attempts=attempts, last_error=str(exc)[:300]
        )
        return "failed"
    Invitation.objects.filter(pk=invitation_id).update(
        status=Invitation.Status.SENT, sent_at=timezone.now(), attempts=attempts, last_error="", message_id=message_id[:128]
    )
    return "sent"


def invitation_give_up(*, invitation_id: int, error: str) -> None:
    """The task's retries ran out: the invitation says so, and staff can resend."""
    Invitation.objects.filter(pk=invitation_id).exclude(status=Invitation.Status.SENT).update(
        status=Invitation.Status.FAILED, last_error=error[:300]
    )
