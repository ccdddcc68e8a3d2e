"""Config history: every revision, diffs between any two, restore."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from .. import presenters, selectors
from ..models import ConfigRevision
from ..services.revisions import revision_restore
from ..roles import role_required
from .base import site_or_404

PAGE_SIZE = 30


def _number(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@require_GET
@role_required("view")
def site_history(request, slug):
    site = site_or_404(slug, related=())
    revisions = selectors.revisions_for(site)
    page = Paginator(revisions, PAGE_SIZE).get_page(request.GET.get("page"))
    builds = presenters.site_builds(site)
    for revision in page:
        # The services write "build 7" by primary key; staff know the site's own numbers.
        revision.reason_text = presenters.renumber_builds(revision.reason, builds)
        revision.author = presenters.revision_author(revision)
    old_n, new_n = _number(request.GET.get("from")), _number(request.GET.get("to"))
    diff = old = new = None
    if old_n is not None and new_n is not None:
        pair = {r.number: r for r in revisions.filter(number__in=[old_n, new_n])}
        old, new = pair.get(old_n), pair.get(new_n)
        if old and new:
            diff = selectors.revision_diff(old, new)
        else:
            messages.error(request, "One of those revisions does not exist.")
    return render(
        request,
        "sites/history.html",
        {"site": site, "page": page, "diff": diff, "old": old, "new": new, "tab": "history"},
    )


@require_GET
@role_required("restore_revision")
def revision_restore_confirm(request, slug, number):
    """What restoring the revision would change today, and the button that does it."""
    site = site_or_404(slug)
    revision = get_object_or_404(ConfigRevision.objects.select_related("created_by"), site=site, number=number)
    latest = selectors.revisions_for(site).first()
    return render(
        request,
        "sites/revision_restore.html",
        {
            "site": site,
            "revision": revision,
            "latest": latest,
            "changes": presenters.restore_preview(site, revision),
            "reason_text": presenters.renumber_builds(revision.reason, presenters.site_builds(site)),
            "tab": "history",
        },
    )


@require_POST
@role_required("restore_revision")
def revision_restore_view(request, slug, number):
    site = site_or_404(slug)
    revision = get_object_or_404(ConfigRevision, site=site, number=number)
    try:
        restored = revision_restore(site=site, revision=revision, actor=request.user)
    except ValidationError as exc:
        messages.error(request, f"Revision {number} cannot be restored: {' '.join(exc.messages)}")
        return redirect("sites:history", slug=site.slug)
    if restored:
        messages.success(
            request,
            f"Revision {number}'s settings are back and publish as a new revision with today's keys and secrets; "
            "the edge uses them within a minute.",
        )
    else:
        messages.info(request, f"The site already has revision {number}'s settings; nothing to restore.")
    return redirect("sites:history", slug=site.slug)
