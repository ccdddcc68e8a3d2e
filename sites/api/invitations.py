"""One invitation through the API: send it again, or remove it (and the address from the site's allowed e-mails).

The site page's People card does the same through sites.services.invitations;
an invitation is named by its address, as the page and the CLI show it.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ..models import Invitation
from ..services import invitations
from ..views.base import site_or_404
from .views import ERRORS, ApiView

EMAIL = OpenApiParameter("email", str, OpenApiParameter.PATH, description="The invited address, as listed.")


class InvitationResent(serializers.Serializer):
    email = serializers.CharField()
    status = serializers.ChoiceField(choices=Invitation.Status.choices)


def invitation_or_404(slug: str, email: str) -> Invitation:
    site = site_or_404(slug, related=())
    return get_object_or_404(Invitation.objects.select_related("site"), site=site, email=email.strip().lower())


class InvitationResend(ApiView):
    actions = {"POST": "invite"}

    @extend_schema(
        operation_id="invitations_resend", parameters=[EMAIL], request=None, responses={202: InvitationResent, **ERRORS},
        description="Send the invitation again (after a failed send, or a lost message); the e-mail goes from the worker.",
    )
    def post(self, request, slug, email):
        invitation = invitation_or_404(slug, email)
        invitations.invitation_resend(invitation=invitation, actor=request.user)
        invitation.refresh_from_db()
        return Response(InvitationResent(invitation).data, status=status.HTTP_202_ACCEPTED)


class InvitationDetail(ApiView):
    actions = {"DELETE": "invite"}

    @extend_schema(
        operation_id="invitations_remove", parameters=[EMAIL], responses={204: None, **ERRORS},
        description="Remove the invitation and the address from the site's allowed e-mails; the edge applies it within a minute.",
    )
    def delete(self, request, slug, email):
        invitation = invitation_or_404(slug, email)
        invitations.invitation_remove(invitation=invitation, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
