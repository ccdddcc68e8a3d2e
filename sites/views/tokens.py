"""Personal API tokens: made (shown once), listed with their last use, revoked."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .. import selectors
from ..forms.tokens import TokenCreateForm
from ..models import ApiToken
from ..roles import can, role_required
from ..services.tokens import token_create, token_revoke


def _page(request, form, *, new_token: str = "", status: int = 200):
    everyone = can(request.user, "manage_tokens")
    response = render(
        request,
        "sites/tokens.html",
        {"form": form, "tokens": selectors.tokens_for(request.user, everyone=everyone), "everyone": everyone, "new_token": new_token},
        status=status,
    )
    return response


@never_cache  # the page that shows a new token once must not be kept by any cache
@role_required("view")
def tokens(request):
    if request.method != "POST":
        return _page(request, TokenCreateForm(user=request.user))
    form = TokenCreateForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, form, status=400)
    _token, secret = token_create(
        user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at,
        scope=form.cleaned_data["scope"], sites=form.cleaned_data["sites"],
    )
    return _page(request, TokenCreateForm(user=request.user), new_token=secret)


@require_POST
@role_required("view")
def token_revoke_view(request):
    token_id = request.POST.get("token", "")
    if not token_id.isdigit():
        messages.error(request, "Choose the token to revoke.")
        return redirect("sites:tokens")
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=int(token_id))
    # Your own token, always; someone else's, with the role that manages tokens.
    if token.user_id != request.user.pk and not can(request.user, "manage_tokens"):
        raise PermissionDenied("Your role does not allow this (admin needed to revoke another person's token).")
    if token_revoke(token=token, actor=request.user):
        messages.success(request, f"Token '{token.name}' is revoked: it stops working now.")
    else:
        messages.info(request, f"Token '{token.name}' was already revoked.")
    return redirect("sites:tokens")
