"""Edge releases: what runs where, publishing one, rolling one out."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from .. import presenters, selectors
from ..context import change_context
from ..models import EdgeRelease, ProtectedSite
from ..services import provisioning
from ..roles import role_required

ROLLOUT_SHOWN = 50
SITES_SHOWN = 50


def _functions() -> list[dict]:
    """Sites per Lambda function, against how many one takes."""
    rows = (
        ProtectedSite.objects.exclude(edge_release=None)
        .values("edge_release__function_name")
        .annotate(sites=Count("pk"))
        .order_by("edge_release__function_name")
    )
    limit = provisioning.sites_per_function()
    return [
        {
            "name": row["edge_release__function_name"] or "(not yet named)",
            "sites": row["sites"],
            "percent": min(100, round(100 * row["sites"] / limit)),
            "near": row["sites"] >= limit * 0.9,
        }
        for row in rows
    ]


@require_GET
@role_required("view")
def releases(request):
    return render(
        request,
        "sites/releases.html",
        {
            "releases": list(selectors.releases_with_counts()),
            "functions": _functions(),
            "limit": provisioning.sites_per_function(),
        },
    )


@require_POST
@role_required("manage_releases")
def release_publish(request):
    with change_context(actor=request.user, reason="edge release published"):
        deployment = provisioning.edge_release_publish_start(actor=request.user)
    if deployment is None:
        messages.info(request, "This console's edge code is already published as a release; nothing new to publish.")
        return redirect("sites:releases")
    messages.success(
        request,
        "Publishing started: the edge function is built and published as a new numbered version in us-east-1 "
        "(a minute or two). No site uses it until you roll it out.",
    )
    return redirect("sites:releases")


def _release(pk):
    return get_object_or_404(EdgeRelease.objects.annotate(site_count=Count("sites")), pk=pk)


def _others(release):
    return ProtectedSite.objects.exclude(edge_release=release).exclude(status=ProtectedSite.Status.DELETING)


def _progress(release) -> dict:
    rollout = release.rollouts.first()
    return {
        "release": release,
        "rollout": rollout,
        "rollout_counts": rollout.counts() if rollout else None,
        "deployments": selectors.deployments_for(release=release, limit=ROLLOUT_SHOWN),
        "show_site": True,
    }


@require_GET
@role_required("view")
def release_detail(request, pk):
    release = _release(pk)
    # A page of the sites on it, and the others by site id: the page stays
    # the same size at 10 sites and at 10,000.
    on_release = Paginator(
        ProtectedSite.objects.filter(edge_release=release).order_by("client", "name", "pk").only("slug", "client", "name", "status"),
        SITES_SHOWN,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "sites/release.html",
        {
            **_progress(release),
            "on_release": on_release,
            "others_count": _others(release).count(),
            "limit": provisioning.sites_per_function(),
        },
    )


@require_GET
@role_required("view")
def release_progress(request, pk):
    release = get_object_or_404(EdgeRelease, pk=pk)
    return render(request, "sites/_release_progress.html", _progress(release))


@require_POST
@role_required("rollout")
def release_rollout(request, pk):
    release = _release(pk)
    if release.status != EdgeRelease.Status.PUBLISHED:
        messages.error(request, f"Release {release.version} is {release.status}; only a published release can be rolled out.")
        return redirect("sites:release", pk=release.pk)
    candidates = _others(release)
    if request.POST.get("scope") == "all":
        if release.site_count == 0:
            messages.error(request, "Roll it out to one site first and check that site, then to all.")
            return redirect("sites:release", pk=release.pk)
        if not candidates.exists():
            messages.info(request, "Every site already runs this release.")
            return redirect("sites:release", pk=release.pk)
        # One row and one task: the worker moves the sites in batches.
        with change_context(actor=request.user, reason=f"edge release {release.version} rolled out"):
            provisioning.rollout_start(release=release, actor=request.user)
        messages.success(
            request,
            f"Rolling {release.version} out to every other site, in batches; "
            f"each is done when CloudFront has deployed it ({presenters.cloudfront_wait()}). Progress shows below.",
        )
        return redirect("sites:release", pk=release.pk)
    site = candidates.filter(slug=request.POST.get("site", "").strip().lower()).first()
    if site is None:
        messages.error(request, "Type the id of a site that does not run this release yet.")
        return redirect("sites:release", pk=release.pk)
    with change_context(actor=request.user, reason=f"edge release {release.version} rolled out"):
        provisioning.site_move_release(site=site, release=release, actor=request.user)
    messages.success(
        request,
        f"Rolling {release.version} out to {site.slug} ({presenters.cloudfront_wait()}); its progress shows below.",
    )
    return redirect("sites:release", pk=release.pk)
