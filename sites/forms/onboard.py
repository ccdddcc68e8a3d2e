"""The onboarding page: a new site, its provider and its first build, in one form."""

from django import forms
from django.conf import settings
from django.utils.text import slugify

from ..local_stack import local_host_for, local_stack
from ..models import EdgeRelease, IdentityProvider, ProtectedSite
from .providers import ProviderFieldsMixin
from .site_settings import SiteSettingsForm
from .staged_builds import StagedBuildMixin


class OnboardForm(StagedBuildMixin, ProviderFieldsMixin, SiteSettingsForm):
    client = forms.CharField(label="Client", max_length=100, help_text="Who the demo is for, e.g. “Acme Ltd”.")
    name = forms.CharField(label="Site name", max_length=100, help_text="e.g. “Q3 prototype”.")
    slug = forms.SlugField(
        label="Site id", max_length=48, required=False,
        help_text="Lower-case letters, digits and hyphens; used in cookies and AWS names. Leave empty to derive it from client and name.",
    )
    edge_release = forms.ModelChoiceField(
        label="Edge release", queryset=EdgeRelease.objects.none(), required=False,
        help_text="The sign-in function version the site runs. The newest published one is usual.",
    )
    signin_choice = forms.ChoiceField(
        label="How viewers sign in", widget=forms.RadioSelect, initial="idp", required=False,
        choices=[
            # No "identity provider" in these labels: the provider menu below is labelled that.
            ("idp", "At the site's provider (single sign-on)"),
            ("email_code", "With a code sent by e-mail: no account needed anywhere"),
            ("both", "Either: the edge shows a page where the viewer chooses"),
        ],
        help_text="E-mail codes go to the allowed emails and domains only, from the console's SES sender.",
    )
    build = forms.FileField(label="Built site (.zip)", required=False, help_text="index.html at the top level of the zip.")
    # The page needs the first build; the API may create the site first and deploy it after.
    build_required = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_provider_fields()
        releases = EdgeRelease.objects.filter(status=EdgeRelease.Status.PUBLISHED).order_by("-published_at", "-pk")
        self.fields["edge_release"].queryset = releases
        self.fields["edge_release"].empty_label = "The newest published release"
        # Required, but checked in clean() (a staged zip or an existing
        # provider stands in): not labelled "optional".
        for name in ("build", "provider_name", "provider_client_id", "signin_choice"):
            self.fields[name].needed = True

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug and ProtectedSite.objects.filter(slug=slug).exists():
            raise forms.ValidationError("Another site already has this id.")
        return slug

    def clean_signin_choice(self):
        # Not sent (an older client of the page or the API): the provider, as before.
        choice = self.cleaned_data["signin_choice"] or "idp"
        if choice != "idp" and not settings.GATEHOUSE_SES_SENDER:
            raise forms.ValidationError("E-mail codes need a sender: set GATEHOUSE_SES_SENDER (a verified SES identity).")
        return choice

    @property
    def signin_methods(self) -> list[str]:
        choice = self.cleaned_data.get("signin_choice") if hasattr(self, "cleaned_data") else None
        choice = choice or (self.data.get("signin_choice") if self.is_bound else None) or "idp"
        return {"idp": ["idp"], "email_code": ["email_code"], "both": ["idp", "email_code"]}.get(choice, ["idp"])

    @property
    def uses_provider(self) -> bool:
        return "idp" in self.signin_methods

    def clean(self):
        cleaned = super().clean()
        if not self.errors.get("slug") and not cleaned.get("slug") and cleaned.get("client") and cleaned.get("name"):
            cleaned["slug"] = self._free_slug(f"{cleaned['client']}-{cleaned['name']}")
        self._clean_local_host(cleaned)
        self._clean_settings(cleaned)
        self._clean_config(cleaned)
        self._clean_staged_build(required=self.build_required)
        # Only when the rest is fine; the view then checks it (check_provider fetches from the network).
        if not self.uses_provider:
            self.provider = None  # the provider section is not read
        elif not self.errors:
            self.provider = self._clean_provider()
        elif self.provider_is_new and (cleaned.get("provider_client_secret") or self._kept_secret()):
            self.kept_secret = cleaned.get("provider_client_secret") or self._kept_secret()
        return cleaned

    def check_provider(self) -> bool:
        if not self.uses_provider:
            return True
        return super().check_provider()

    def _candidate_provider(self):
        return super()._candidate_provider() if self.uses_provider else None

    def settings_fields(self) -> dict:
        return {**super().settings_fields(), "signin_methods": self.signin_methods}

    def _candidate_release(self, cleaned: dict):
        return cleaned.get("edge_release") or self.fields["edge_release"].queryset.first()

    def _clean_local_host(self, cleaned: dict) -> None:
        """On the local stack a site without host names gets <slug>.localhost:
        CloudFront's invented address would not resolve, so the site had no
        working address at all."""
        if not local_stack() or cleaned.get("hosts") or self.errors.get("hosts") or not cleaned.get("slug"):
            return
        host = local_host_for(cleaned["slug"])
        if ProtectedSite.hosts_taken([host]):
            self.add_error("hosts", f"{host} is used by another site: enter a host name under .localhost.")
            return
        cleaned["hosts"] = [host]

    def provider_preset(self) -> str | None:
        if not self.uses_provider:
            return None
        if self.provider_is_new:
            return self.data.get("provider_preset") or None
        choice = self.data.get("provider_choice", "")
        if not choice.isdigit():
            return None
        return IdentityProvider.objects.filter(pk=choice).values_list("preset", flat=True).first()

    @staticmethod
    def _free_slug(text: str) -> str:
        base = slugify(text)[:40].strip("-") or "site"
        slug, n = base, 2
        while ProtectedSite.objects.filter(slug=slug).exists():
            slug, n = f"{base}-{n}", n + 1
        return slug

    def site_fields(self) -> dict:
        cd = self.cleaned_data
        release = cd.get("edge_release") or self.fields["edge_release"].queryset.first()
        return {
            "client": cd["client"],
            "name": cd["name"],
            "slug": cd["slug"],
            **self.settings_fields(),
            "edge_release": release,
        }
