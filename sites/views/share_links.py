"""A site's share links: made (the whole link shown once, on the answer to the POST), revoked."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from ..forms import ShareLinkForm
from ..models import ShareLink
from ..roles import role_required
from ..services.share_links import share_link_create, share_link_revoke
from .base import site_or_404
from .site import _back, site_context


def form_errors_from(form, exc: ValidationError) -> None:
    """The service's refusal beside the field it names, or above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@never_cache  # the answer shows the new link once: no cache may keep it
@require_POST
@role_required("share_link")
def share_link_add(request, slug):
    site = site_or_404(slug)
    form = ShareLinkForm(request.POST)
    if form.is_valid():
        try:
            link, url = share_link_create(
                site=site, label=form.cleaned_data["label"], expires_at=form.cleaned_data["expires_on"], actor=request.user
            )
        except ValidationError as exc:
            form_errors_from(form, exc)
        else:
            context = site_context(site_or_404(slug), new_share_link={"link": link, "url": url})
            return render(request, "sites/site.html", context)
    return render(request, "sites/site.html", site_context(site, share_link_form=form), status=400)


@require_POST
@role_required("share_link")
def share_link_revoke_view(request, slug, link_id):
    site = site_or_404(slug)
    link = get_object_or_404(ShareLink, pk=link_id, site=site)
    if share_link_revoke(link=link, actor=request.user):
        messages.success(request, f"The share link '{link.label}' is revoked; the edge refuses it within a minute.")
    else:
        messages.info(request, f"The share link '{link.label}' was already revoked.")
    return _back(site, "#share-links")
