"""Onboarding a client demo, and the provider check it offers."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .. import presenters, presets
from ..forms import PRESET_FIELDS, OnboardForm, ProviderCheckForm
from ..services.sites import site_onboard
from ..roles import role_required


@role_required("onboard")
def onboard(request):
    form = OnboardForm(request.POST or None, request.FILES or None)
    valid = request.method == "POST" and form.is_valid()
    if form.is_bound:
        # Staged even when another field is wrong, so the zip need not be chosen again.
        # A staging storage that did not answer is an error beside the field too.
        valid = form.stage_upload() is not None and valid
    if valid and form.check_provider():
        try:
            site = _create(request, form)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return redirect("sites:site", slug=site.slug)
    return render(
        request,
        "sites/onboard.html",
        {"form": form, "preset_fields": {name: " ".join(p) for name, p in PRESET_FIELDS.items()}},
        status=400 if form.is_bound else 200,
    )


def _create(request, form: OnboardForm):
    site = site_onboard(actor=request.user, provider=form.provider, staged_name=form.staged_name, **form.site_fields())
    messages.success(
        request,
        f"{site.name} is saved and provisioning has started ({presenters.cloudfront_wait()}); "
        "meanwhile, register the callback and sign-out URLs below at the provider.",
    )
    return site


@require_POST
@role_required("check_provider")
def provider_check_view(request):
    form = ProviderCheckForm(request.POST)
    ok = form.is_valid() and form.check_provider()
    provider = getattr(form, "provider", None)
    return render(
        request,
        "sites/_provider_check.html",
        {
            "ok": ok,
            "form": form,
            "provider": provider,
            "metadata": getattr(form, "provider_metadata", None),
            "email_proof": presets.EMAIL_PROOF_TEXT[presets.email_proof(provider.preset)] if provider else "",
        },
        status=200,
    )
