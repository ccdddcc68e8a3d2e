"""Reads for the console pages, each a fixed number of queries whatever the row count."""

import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, Subquery, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .models import Activity, ApiToken, Build, ConfigRevision, Deployment, DeploymentStep, EdgeRelease, ProtectedSite, ShareLink
from .rendering import SECRET_MARKER

# Access that ends within this is flagged on the dashboard.
EXPIRY_WARNING = timedelta(days=7)


def expiry_state(site: ProtectedSite, now=None) -> str:
    """"expired", "expiring" (within EXPIRY_WARNING) or ""."""
    if not site.not_after:
        return ""
    now = now or timezone.now()
    if site.not_after <= now:
        return "expired"
    if site.not_after - now <= EXPIRY_WARNING:
        return "expiring"
    return ""


def site_list(*, search: str = "", status: str = "", client: str = ""):
    """Sites for the dashboard, filtered, in a stable order; nothing computed per row.

    The last deployment is added to one page's rows by sites_last_deployment:
    a subquery in this query's SELECT would run, on PostgreSQL, for every row
    an OFFSET skips too, so the deepest page cost three subplans per site.
    """
    sites = ProtectedSite.objects.select_related("provider", "edge_release").order_by("client", "name", "pk")
    if search:
        sites = sites.annotate(hosts_text=Cast("hosts", TextField())).filter(
            Q(client__icontains=search)
            | Q(name__icontains=search)
            | Q(slug__icontains=search)
            | Q(hosts_text__icontains=search)
            | Q(distribution_domain__icontains=search)
        )
    if status == "expired":
        sites = sites.filter(not_after__lte=timezone.now())
    elif status == "expiring":
        now = timezone.now()
        sites = sites.filter(not_after__gt=now, not_after__lte=now + EXPIRY_WARNING)
    elif status == "disabled":
        sites = sites.filter(disabled=True)
    elif status:
        sites = sites.filter(status=status)
    if client:
        sites = sites.filter(client=client)
    return sites


def sites_last_deployment(sites) -> list[ProtectedSite]:
    """One page of sites, each with last_deployment_kind, _status and _at (None: none yet); one query."""
    sites = list(sites)
    if not sites:
        return sites
    last = Deployment.objects.filter(site=OuterRef("pk")).order_by("-created_at", "-pk")
    found = {
        row["pk"]: row
        for row in ProtectedSite.objects.filter(pk__in=[site.pk for site in sites])
        .annotate(
            last_kind=Subquery(last.values("kind")[:1]),
            last_status=Subquery(last.values("status")[:1]),
            last_at=Subquery(last.values("created_at")[:1]),
        )
        .values("pk", "last_kind", "last_status", "last_at")
    }
    for site in sites:
        row = found.get(site.pk, {})
        site.last_deployment_kind = row.get("last_kind")
        site.last_deployment_status = row.get("last_status")
        site.last_deployment_at = row.get("last_at")
    return sites


def deployments_for(*, site: ProtectedSite | None = None, release: EdgeRelease | None = None, limit: int = 10):
    """Newest deployments with their steps: two queries."""
    deployments = Deployment.objects.select_related("started_by", "build", "edge_release", "site").prefetch_related(
        Prefetch("steps", queryset=DeploymentStep.objects.order_by("ordering", "pk"))
    )
    if site is not None:
        deployments = deployments.filter(site=site)
    if release is not None:
        deployments = deployments.filter(edge_release=release, kind=Deployment.Kind.EDGE_RELEASE)
    return list(deployments.order_by("-created_at", "-pk")[:limit])


def revisions_for(site: ProtectedSite):
    return ConfigRevision.objects.filter(site=site).select_related("created_by").order_by("-number")


def builds_for(site: ProtectedSite):
    return Build.objects.filter(site=site).select_related("created_by").order_by("-created_at", "-pk")


def activity_list(*, site_slug: str = "", actor: str = ""):
    entries = Activity.objects.select_related("actor", "site", "token").order_by("-at", "-pk")
    if site_slug:
        entries = entries.filter(site_slug=site_slug)
    if actor == "system":
        entries = entries.filter(actor=None)
    elif actor:
        entries = entries.filter(actor__username=actor)
    return entries


def activity_people() -> list[str]:
    """The people that appear in the log, for the filter menu (staff: a short list)."""
    return list(
        get_user_model()
        .objects.filter(pk__in=Activity.objects.exclude(actor=None).values("actor"))
        .order_by("username")
        .values_list("username", flat=True)
    )


def site_names(slugs: list[str]) -> list[tuple[str, str]]:
    """(slug, what to call it) for the filter; a deleted site keeps only its slug."""
    names = dict(ProtectedSite.objects.filter(slug__in=slugs).values_list("slug", "name"))
    return [(slug, names.get(slug) or f"{slug} (deleted)") for slug in slugs]


def releases_with_counts():
    return EdgeRelease.objects.select_related("created_by").annotate(site_count=Count("sites")).order_by("-created_at")


# --- Revision diffs ---------------------------------------------------------


@dataclass
class DiffRow:
    path: str
    change: str  # "added", "removed", "changed", "unchanged"
    old: str = ""
    new: str = ""
    secret: bool = False


@dataclass
class DiffSection:
    name: str
    rows: list[DiffRow] = field(default_factory=list)

    @property
    def changed(self) -> list[DiffRow]:
        return [row for row in self.rows if row.change != "unchanged"]


def _is_secret(value) -> bool:
    return isinstance(value, dict) and set(value) == {SECRET_MARKER}


# Objects that read best as one value ("b7 at builds/7", "2 keys: k1, k2"),
# and that may be null in one revision and an object in the other.
LEAF_PATHS = frozenset({"site.build", "provider.jwks"})


def _flatten(node, prefix=""):
    """Dotted paths to leaves. Lists and secrets are leaves: a list of
    emails reads better whole than item by item."""
    if isinstance(node, dict) and not _is_secret(node) and node and prefix not in LEAF_PATHS:
        for key, value in node.items():
            yield from _flatten(value, f"{prefix}.{key}" if prefix else key)
    else:
        yield prefix, node


def _show(path: str, value) -> str:
    if value is None:
        return "—"
    if path == "site.build" and isinstance(value, dict):
        return f"{value.get('id')} at {value.get('prefix')}"
    if path == "provider.jwks":
        keys = value.get("keys", []) if isinstance(value, dict) else []
        kids = [str(k.get("kid", "?")) for k in keys if isinstance(k, dict)]
        return f"{len(kids)} key{'s' if len(kids) != 1 else ''}: {', '.join(kids) or 'none'}"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def revision_diff(old: ConfigRevision, new: ConfigRevision) -> list[DiffSection]:
    """What changed from `old` to `new`, by section, secrets reduced to changed/unchanged.

    A fingerprint is not shown even though it reveals nothing: staff only
    need to know whether a secret moved, and a hash on screen invites copying.
    """
    old_leaves = dict(_flatten(old.document))
    new_leaves = dict(_flatten(new.document))
    sections: dict[str, DiffSection] = {}
    for path in sorted(set(old_leaves) | set(new_leaves), key=_path_order):
        a, b = old_leaves.get(path, _MISSING), new_leaves.get(path, _MISSING)
        secret = _is_secret(a) or _is_secret(b)
        if a is _MISSING:
            change = "added"
        elif b is _MISSING:
            change = "removed"
        else:
            change = "unchanged" if a == b else "changed"
        if secret:
            row = DiffRow(path=path, change=change, secret=True)
        else:
            row = DiffRow(
                path=path,
                change=change,
                old="" if a is _MISSING else _show(path, a),
                new="" if b is _MISSING else _show(path, b),
            )
        section = path.split(".", 1)[0]
        sections.setdefault(section, DiffSection(name=section)).rows.append(row)
    return list(sections.values())


_MISSING = object()
_SECTION_ORDER = ["schema_version", "site", "access", "session", "provider", "paths", "headers"]


def _path_order(path: str):
    head = path.split(".", 1)[0]
    return (_SECTION_ORDER.index(head) if head in _SECTION_ORDER else len(_SECTION_ORDER), path)


# --- Viewers ---------------------------------------------------------------------------------------

# Refusals the site page lists (the CSV export has them all).
REFUSALS_SHOWN = 20


@dataclass
class Visitor:
    email: str
    subject: str
    sign_ins: int
    opens: int
    first_at: object
    last_at: object
    methods: list[str] = field(default_factory=list)


def visitors_for(site: ProtectedSite) -> list[Visitor]:
    """Who signed in or opened the demo: one row per person, newest first (two queries)."""
    from .models import Visit

    seen = Visit.objects.filter(site=site).exclude(kind=Visit.Kind.REFUSED)
    rows = (
        seen.values("email", "subject")
        .annotate(
            sign_ins=Count("pk", filter=Q(kind=Visit.Kind.SIGNED_IN)),
            opens=Count("pk", filter=Q(kind=Visit.Kind.SESSION_START)),
            first_at=Min("occurred_at"),
            last_at=Max("occurred_at"),
        )
        .order_by("-last_at")
    )
    methods = {}
    for email, subject, method in seen.exclude(method="").values_list("email", "subject", "method").distinct():
        methods.setdefault((email, subject), []).append(method)
    visitors = [Visitor(**row, methods=sorted(methods.get((row["email"], row["subject"]), []))) for row in rows]
    _name_share_links(site, visitors)
    return visitors


def _name_share_links(site: ProtectedSite, visitors) -> None:
    """A share link's sessions (subject "share-link:<id>") named by the link's label (one query, only if any)."""
    prefix = "share-link:"
    if not any(v.subject.startswith(prefix) and not v.email for v in visitors):
        return
    labels = dict(ShareLink.objects.filter(site=site).values_list("public_id", "label"))
    for visitor in visitors:
        label = labels.get(visitor.subject.removeprefix(prefix)) if visitor.subject.startswith(prefix) else None
        if label is not None and not visitor.email:
            visitor.subject = f"share link “{label}”"


def refusals_for(site: ProtectedSite, limit: int = REFUSALS_SHOWN):
    from .models import Visit

    return list(Visit.objects.filter(site=site, kind=Visit.Kind.REFUSED).order_by("-occurred_at", "-pk")[:limit])


def invitations_for(site: ProtectedSite):
    """The site's invitations, each with `first_signed_in_at` from the visits (one query)."""
    from .models import Invitation, Visit

    first = (
        Visit.objects.filter(site=OuterRef("site"), email=OuterRef("email"), kind=Visit.Kind.SIGNED_IN)
        .order_by("occurred_at")
        .values("occurred_at")[:1]
    )
    return list(Invitation.objects.filter(site=site).annotate(first_signed_in_at=Subquery(first)).order_by("email"))


def sites_not_opened(site_ids=None) -> set[int]:
    """Sites with invitations of which no invitee has signed in or opened the demo."""
    from .models import Invitation, Visit

    opened = Visit.objects.filter(site=OuterRef("site"), email=OuterRef("email")).exclude(kind=Visit.Kind.REFUSED)
    invited = Invitation.objects.all() if site_ids is None else Invitation.objects.filter(site_id__in=site_ids)
    invited_sites = set(invited.values_list("site_id", flat=True))
    opened_sites = set(invited.filter(Exists(opened)).values_list("site_id", flat=True))
    return invited_sites - opened_sites


# Sites the dashboard's "needs attention" lists at most, per list.
ATTENTION_SHOWN = 20


def sites_needing_attention(now=None) -> dict[str, list[ProtectedSite]]:
    """{"not_opened": invited sites no invitee has opened, "ending": access ends within a week} (three queries)."""
    now = now or timezone.now()
    live = ProtectedSite.objects.exclude(status=ProtectedSite.Status.DELETING).filter(disabled=False)
    not_opened = live.filter(pk__in=sites_not_opened()).exclude(not_after__lte=now).order_by("client", "name")
    ending = live.filter(not_after__gt=now, not_after__lte=now + EXPIRY_WARNING).order_by("not_after")
    return {"not_opened": list(not_opened[:ATTENTION_SHOWN]), "ending": list(ending[:ATTENTION_SHOWN])}


def tokens_for(user, *, everyone: bool = False):
    """API tokens for the tokens page: the user's own, or everyone's (for those who manage tokens); three queries."""
    tokens = ApiToken.objects.select_related("user", "revoked_by").prefetch_related("sites").order_by("-created_at", "-pk")
    return tokens if everyone else tokens.filter(user=user)


def site_blob_hashes(site: ProtectedSite, hashes) -> set[str]:
    """Which of these contents the site's bucket already holds (blobs/<sha256>)."""
    from .models import SiteBlob

    return set(SiteBlob.objects.filter(site=site, sha256__in=list(hashes)).values_list("sha256", flat=True))


def webhook_endpoints():
    """The webhooks page: every endpoint with its delivery counts; one query."""
    from .models import WebhookEndpoint

    return WebhookEndpoint.objects.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status="succeeded")),
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
        last_delivery_at=Max("deliveries__created_at"),
    ).order_by("-created_at", "-pk")


WEBHOOK_DELIVERIES_SHOWN = 100


def webhook_deliveries_for(endpoint):
    """An endpoint's newest deliveries with their attempts; two queries."""
    return list(endpoint.deliveries.prefetch_related("attempt_rows").order_by("-created_at", "-pk")[:WEBHOOK_DELIVERIES_SHOWN])


def share_links_for(site: ProtectedSite):
    """The site's share links, newest first, with who made them (one query)."""
    return list(ShareLink.objects.filter(site=site).select_related("created_by").order_by("-created_at", "-pk"))
