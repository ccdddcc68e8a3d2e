"""One site: its page, live deployments, and the actions on it."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import presenters, selectors
from ..context import change_context
from ..forms import BuildUploadForm, DeleteSiteForm, ExtendAccessForm, InviteForm, MoveReleaseForm, ShareLinkForm, SiteEditForm
from edge_runtime.config import FIELDS_SINCE

from .. import presets
from ..local_stack import LOCAL_SUFFIX, local_stack
from ..models import SIGN_OUT_PATH, Build, ProtectedSite
from ..services import provisioning, site_actions
from ..services.keys import session_keys_revoke
from ..roles import role_required
from ..visit_text import refusal_sentence
from .base import site_or_404


def _back(site, anchor=""):
    return redirect(reverse("sites:site", args=[site.slug]) + anchor)


def _registration(site: ProtectedSite) -> list[dict]:
    """What staff register at the provider, for every name the site answers to."""
    return [
        {
            "host": host,
            "open_url": site.public_origin(host) + "/",
            "callback_url": site.callback_url(host),
            "signed_out_url": site.signed_out_url(host),
            "sign_out_url": site.sign_out_url(host),
        }
        for host in site.config_hosts
    ]


def _not_live_reason(site: ProtectedSite) -> str:
    """Why Redeploy and "Open the site" are not offered yet, or "" when they are."""
    Status = ProtectedSite.Status
    if site.status == Status.LIVE:
        return ""
    if site.status == Status.FAILED and site.distribution_id:
        # Redeploy is how staff retry a provisioning that failed after the distribution existed.
        return ""
    if site.status == Status.DELETING:
        return "The site is being deleted."
    if site.status == Status.FAILED:
        return "Provisioning failed before CloudFront had a distribution; see the deployment for the reason."
    return f"Not live yet: provisioning is still running ({presenters.cloudfront_wait()})."


def _email_proof_needs_release(site: ProtectedSite) -> bool:
    """Whether the site's e-mail rules need a newer edge release to be judged
    by its provider's own proof (an older one reads only `email_verified`)."""
    if site.provider is None or not site.signs_in_with_idp:
        return False
    if not (site.emails or site.email_domains) or presets.email_proof(site.provider.preset) == "email_verified":
        return False
    return site.schema_version < FIELDS_SINCE["provider"]["email_proof"]


def site_context(site: ProtectedSite, **forms) -> dict:
    latest = selectors.revisions_for(site).first()
    if latest is not None:
        latest.reason_text = presenters.renumber_builds(latest.reason, presenters.site_builds(site))
    keys = list(site.session_keys.filter(retired_at=None).order_by("-created_at", "-pk"))
    context = {
        "site": site,
        "expiry": selectors.expiry_state(site),
        "registration": _registration(site),
        "latest_revision": latest,
        "keys": keys,
        "deployments": selectors.deployments_for(site=site),
        "upload_form": BuildUploadForm(),
        "extend_form": ExtendAccessForm.for_site(site),
        "move_form": MoveReleaseForm(site=site),
        "invite_form": InviteForm(),
        "invitations": selectors.invitations_for(site),
        "share_link_form": ShareLinkForm(),
        "share_links": selectors.share_links_for(site),
        "new_share_link": None,
        "visitors": selectors.visitors_for(site),
        "refusals": [(visit, refusal_sentence(visit.reasons)) for visit in selectors.refusals_for(site)],
        "tab": "overview",
        "not_live_reason": _not_live_reason(site),
        "sign_out_path": SIGN_OUT_PATH,
        "email_proof": presets.EMAIL_PROOF_TEXT[presets.email_proof(site.provider.preset)] if site.provider else "",
        # "Anyone who signs in" at Google is anyone with a Google account.
        "open_to_every_google_account": site.allow_any_user and site.signs_in_with_idp and site.provider is not None
        and site.provider.preset == presets.GOOGLE,
        "signin_text": presenters.signin_methods_text(site),
        "email_proof_needs_release": _email_proof_needs_release(site),
        # moto's CloudFront address does not resolve: say what gives the site one that does.
        "no_local_address": local_stack() and bool(site.config_hosts)
        and not any(h.endswith(LOCAL_SUFFIX) for h in site.config_hosts),
    }
    context.update(forms)
    return context


@require_GET
@role_required("view")
def site_detail(request, slug):
    site = site_or_404(slug)
    return render(request, "sites/site.html", site_context(site))


@require_GET
@role_required("view")
def site_deployments(request, slug):
    """The deployments list alone, polled while one runs; ?format=json for scripts."""
    site = site_or_404(slug, related=())
    deployments = selectors.deployments_for(site=site)
    if request.GET.get("format") == "json":
        return JsonResponse({"site": site.slug, "status": site.status, "deployments": [_deployment_json(d) for d in deployments]})
    return render(request, "sites/_deployments.html", {"deployments": deployments, "site": site})


def _deployment_json(deployment) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": deployment.pk,
        "kind": deployment.kind,
        "status": deployment.status,
        "message": deployment.message,
        "created_at": iso(deployment.created_at),
        "finished_at": iso(deployment.finished_at),
        "steps": [
            {"name": s.name, "status": s.status, "message": s.message, "started_at": iso(s.started_at), "finished_at": iso(s.finished_at)}
            for s in deployment.steps.all()
        ],
    }


@require_POST
@role_required("redeploy")
def site_redeploy(request, slug):
    site = site_or_404(slug)
    with change_context(actor=request.user, reason="redeployed from the console"):
        provisioning.site_redeploy_start(site=site, actor=request.user)
    messages.success(
        request,
        "Redeploy started: the config is uploaded again, CloudFront's settings re-applied and its cache cleared. "
        f"Progress shows below ({presenters.cloudfront_wait()}).",
    )
    return _back(site, "#deployments")


@require_POST
@role_required("upload_build")
def site_build_upload(request, slug):
    site = site_or_404(slug)
    form = BuildUploadForm(request.POST, request.FILES)
    valid = form.is_valid()
    # A staging storage that did not answer is an error beside the field too.
    valid = form.stage_upload() is not None and valid
    if not valid:
        if request.POST.get("from") == "builds":
            # The error goes back beside the file field it is about, on the tab it came from.
            return render(request, "sites/builds.html", builds_context(site, upload_form=form), status=400)
        return render(request, "sites/site.html", site_context(site, upload_form=form), status=400)
    with change_context(actor=request.user, reason="new build uploaded"):
        provisioning.build_upload_start(site=site, staged_name=form.staged_name, actor=request.user)
    messages.success(
        request, "Build upload started. It goes live as soon as every file is in the bucket; progress shows below."
    )
    return _back(site, "#deployments")


@require_POST
@role_required("extend")
def site_extend(request, slug):
    site = site_or_404(slug)
    form = ExtendAccessForm(request.POST, site=site)
    if not form.is_valid():
        return render(request, "sites/site.html", site_context(site, extend_form=form), status=400)
    try:
        site_actions.site_access_extend(site=site, not_after=form.cleaned_data["not_after"], actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back(site)
    end = form.cleaned_data["not_after"]
    messages.success(
        request,
        (f"Access now ends {end:%d %b %Y} at 23:59 UTC{' (shortened)' if form.cleaned_data['shorten'] else ''}."
         if end else "Access no longer has an end date.")
        + " The edge applies it within a minute, once the new config is uploaded.",
    )
    return _back(site)


@require_POST
@role_required("sign_everyone_out")
def site_sign_everyone_out(request, slug):
    site = site_or_404(slug)
    with change_context(actor=request.user, reason="everyone signed out"):
        session_keys_revoke(site=site, actor=request.user)
    messages.success(
        request, "Every viewer is signed out once the new config is uploaded (within a minute); they sign in again at the provider."
    )
    return _back(site)


@require_POST
@role_required("disable")
def site_disable(request, slug):
    site = site_or_404(slug)
    site_actions.site_disable(site=site, actor=request.user)
    messages.success(request, "Site disabled: viewers get a “not available” page within a minute. Nothing is deleted.")
    return _back(site)


@require_POST
@role_required("enable")
def site_enable(request, slug):
    site = site_or_404(slug)
    site_actions.site_enable(site=site, actor=request.user)
    messages.success(request, "Site enabled: viewers can sign in again within a minute.")
    return _back(site)


@require_POST
@role_required("move_release")
def site_move_release(request, slug):
    site = site_or_404(slug)
    form = MoveReleaseForm(request.POST, site=site)
    if not form.is_valid():
        return render(request, "sites/site.html", site_context(site, move_form=form), status=400)
    release = form.cleaned_data["edge_release"]
    try:
        with change_context(actor=request.user, reason=f"moved to edge release {release.version}"):
            provisioning.site_move_release(site=site, release=release, actor=request.user)
    except ValueError as exc:
        messages.error(request, f"Not moved: {exc}.")
        return _back(site)
    messages.success(
        request,
        f"Moving to edge release {release.version}: progress shows below ({presenters.cloudfront_wait()}).",
    )
    return _back(site, "#deployments")


@role_required("delete")
def site_delete(request, slug):
    site = site_or_404(slug)
    form = DeleteSiteForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        with change_context(actor=request.user, reason="deleted from the console"):
            provisioning.site_teardown_start(site=site, actor=request.user)
        messages.success(
            request,
            f"Deleting {site.slug}: its CloudFront distribution is disabled, then removed with its bucket and config. "
            "That takes 15 minutes or more; the site stays listed as deleting until it is gone.",
        )
        return redirect("sites:dashboard")
    return render(request, "sites/site_delete.html", {"site": site, "form": form, "tab": "overview"})


@require_GET
@role_required("view")
def site_builds(request, slug):
    site = site_or_404(slug)
    return render(request, "sites/builds.html", builds_context(site))


def builds_context(site: ProtectedSite, **forms) -> dict:
    return {"site": site, "builds": selectors.builds_for(site), "upload_form": BuildUploadForm(), "tab": "builds", **forms}


@require_POST
@role_required("make_live")
def build_make_live(request, slug, build_id):
    site = site_or_404(slug)
    build = get_object_or_404(Build, pk=build_id, site=site)
    try:
        site_actions.build_make_live(site=site, build=build, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Build {build.number} is live as soon as the new config is uploaded (within a minute); its files are already in place."
        )
    return redirect("sites:builds", slug=site.slug)


@role_required("edit")
def site_edit(request, slug):
    site = site_or_404(slug)
    form = SiteEditForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        reason = form.cleaned_data["reason"].strip() or "settings changed"
        try:
            with change_context(actor=request.user, reason=reason):
                changed = site_actions.site_settings_update(
                    site=site, actor=request.user, reason=reason, **form.settings_fields()
                )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            if not changed:
                messages.info(request, "Nothing changed, so nothing was published.")
                return _back(site)
            names = ", ".join(presenters.SETTING_NAMES.get(name, name) for name in changed)
            text = f"Saved ({names}) as a new config revision; it takes effect at the edge within about a minute."
            if site_actions.CLOUDFRONT_SETTINGS & set(changed) and site.distribution_id:
                # CloudFront only answers for a name once the distribution lists it.
                with change_context(actor=request.user, reason=reason):
                    provisioning.site_redeploy_start(site=site, actor=request.user)
                text += f" The host names also change on CloudFront: a redeploy has started ({presenters.cloudfront_wait()})."
                messages.success(request, text)
                return _back(site, "#deployments")
            messages.success(request, text)
            return _back(site)
        site = site_or_404(slug)
    return render(
        request,
        "sites/site_edit.html",
        {"site": site, "form": form, "tab": "overview"},
        status=400 if form.is_bound else 200,
    )
