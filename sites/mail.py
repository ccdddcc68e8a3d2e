"""The e-mails the console sends, built as MIME: a text part always, the HTML beside it.

Pure: a message from a site and an address; sites/aws/ses.py sends it.
Plain and branded by settings (GATEHOUSE_CONSULTANCY_NAME). Header values
come from validated addresses and site names; EmailMessage refuses a CR or
LF in a header, so no value can add one.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from .models import ProtectedSite


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def message_build(*, to: str, subject: str, template: str, context: dict) -> EmailMessage:
    context = {"consultancy": settings.GATEHOUSE_CONSULTANCY_NAME, **context}
    message = EmailMessage()
    message["From"] = f"{_one_line(settings.GATEHOUSE_CONSULTANCY_NAME)} <{settings.GATEHOUSE_EMAIL_FROM}>"
    message["To"] = to
    message["Subject"] = _one_line(subject)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=settings.GATEHOUSE_EMAIL_FROM.rpartition("@")[2] or None)
    message.set_content(render_to_string(f"emails/{template}.txt", context))
    message.add_alternative(render_to_string(f"emails/{template}.html", context), subtype="html")
    return message


def site_address(site: ProtectedSite) -> str:
    return site.public_origin(site.primary_host) + "/" if site.primary_host else ""


def invitation_message(*, site: ProtectedSite, email: str) -> EmailMessage:
    consultancy = settings.GATEHOUSE_CONSULTANCY_NAME
    return message_build(
        to=email,
        subject=f"{consultancy} shared a demo with you: {site.name}",
        template="invitation",
        context={
            "site": site,
            "email": email,
            "address": site_address(site),
            "provider": site.provider.name if site.provider is not None and site.signs_in_with_idp else "",
            "email_code": site.signs_in_with_email_code,
            "code_minutes": max(1, settings.GATEHOUSE_EMAIL_CODE_LIFETIME // 60),
        },
    )


def console_link(path: str) -> str:
    return settings.GATEHOUSE_CONSOLE_URL.rstrip("/") + path


def access_reminder_message(*, site: ProtectedSite, to: str, days_left: int) -> EmailMessage:
    return message_build(
        to=to,
        subject=f"Access to {site.client} · {site.name} ends {site.not_after:%d %b %Y}",
        template="access_reminder",
        context={
            "site": site,
            "days_left": days_left,
            "extend_link": console_link(reverse("sites:site", args=[site.slug]) + "#action-extend"),
        },
    )
