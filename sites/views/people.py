"""The people side of a site: invitations, and who viewed it (CSV)."""

import csv

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from ..forms import InviteForm
from ..models import Invitation, Visit
from ..roles import role_required
from ..services import invitations
from ..visit_text import method_name, refusal_sentence
from .base import site_or_404
from .site import _back, site_context


@require_POST
@role_required("invite")
def invitations_add(request, slug):
    site = site_or_404(slug)
    form = InviteForm(request.POST)
    if not form.is_valid():
        return render(request, "sites/site.html", site_context(site, invite_form=form), status=400)
    try:
        added = invitations.invitations_add(site=site, emails=form.cleaned_data["emails"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(site, "#people")
    messages.success(
        request,
        f"Invited {', '.join(i.email for i in added)}: the invitation goes out in a moment, "
        "and the edge lets them in within a minute.",
    )
    return _back(site, "#people")


def _invitation(site, invitation_id):
    return get_object_or_404(Invitation, pk=invitation_id, site=site)


@require_POST
@role_required("invite")
def invitation_resend(request, slug, invitation_id):
    site = site_or_404(slug)
    invitation = _invitation(site, invitation_id)
    invitations.invitation_resend(invitation=invitation, actor=request.user)
    messages.success(request, f"The invitation to {invitation.email} is being sent again.")
    return _back(site, "#people")


@require_POST
@role_required("invite")
def invitation_remove(request, slug, invitation_id):
    site = site_or_404(slug)
    invitation = Invitation.objects.filter(pk=invitation_id, site=site).first()
    if invitation is None:
        # A second click, or another tab removed it first: the outcome stands.
        messages.info(request, "That invitation was already removed.")
        return _back(site, "#people")
    invitations.invitation_remove(invitation=invitation, actor=request.user)
    messages.success(request, f"{invitation.email} is no longer invited or allowed; the edge applies it within a minute.")
    return _back(site, "#people")


class _Echo:
    def write(self, value):
        return value


CSV_FIELDS = ["time (UTC)", "event", "method", "e-mail", "subject", "host", "region", "reason"]


def _csv_cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is quoted as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@require_GET
@role_required("view")
def site_visits_csv(request, slug):
    site = site_or_404(slug)
    writer = csv.writer(_Echo())
    rows = Visit.objects.filter(site=site).order_by("-occurred_at", "-pk").iterator(chunk_size=1000)

    def lines():
        yield writer.writerow(CSV_FIELDS)
        for visit in rows:
            yield writer.writerow(
                _csv_cell(str(value))
                for value in (
                    visit.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
                    visit.get_kind_display(),
                    method_name(visit.method) if visit.method else "",
                    visit.email,
                    visit.subject,
                    visit.host,
                    visit.region,
                    refusal_sentence(visit.reasons) if visit.kind == Visit.Kind.REFUSED else "",
                )
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{site.slug}-visits.csv"'
    return response
