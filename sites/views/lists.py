"""The dashboard and the activity log: filterable lists, fixed query counts."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import presenters, selectors
from ..models import ProtectedSite
from ..services.publishing import revisions_failed
from ..roles import role_required

PAGE_SIZE = 50
STATUS_FILTERS = [
    *ProtectedSite.Status.choices,
    ("disabled", "Disabled"),
    ("expiring", "Expiring within 7 days"),
    ("expired", "Expired"),
]


@require_GET
@role_required("view")
def dashboard(request):
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    client = request.GET.get("client", "")
    page = Paginator(selectors.site_list(search=search, status=status, client=client), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = selectors.sites_last_deployment(page.object_list)
    now = timezone.now()
    for site in page:
        site.expiry = selectors.expiry_state(site, now)
        # The same state the site page shows; the last deployment says whether a build is on its way.
        site.state = presenters.site_state(
            site, building=site.last_deployment_kind == "build" and site.last_deployment_status in ("queued", "running")
        )
        site.addresses = [{"host": host, "url": site.public_origin(host) + "/"} for host in site.config_hosts]
    return render(
        request,
        "sites/dashboard.html",
        {
            "page": page,
            "search": search,
            "status": status,
            "client": client,
            "status_filters": STATUS_FILTERS,
            "filtered": bool(search or status or client),
            # Configs the edge does not have: the sweep retries them, staff should know.
            "failed_revisions": list(revisions_failed().order_by("site__slug")[:20]),
            # Invited, never opened; access ending within a week.
            "attention": selectors.sites_needing_attention(now),
        },
    )


@require_GET
@role_required("view")
def activity(request):
    site_slug = request.GET.get("site", "").strip().lower()
    actor = request.GET.get("person", "")
    page = Paginator(selectors.activity_list(site_slug=site_slug, actor=actor), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # The site filter is typed, not chosen from every slug in the log: the
    # page stays the same size at 10 sites and at 10,000.
    people = selectors.activity_people()
    return render(
        request,
        "sites/activity.html",
        {
            "page": page,
            "items": presenters.activity_items(list(page.object_list)),
            "site_slug": site_slug,
            "person": actor,
            "site_name": selectors.site_names([site_slug])[0][1] if site_slug else "",
            "people": people,
        },
    )
