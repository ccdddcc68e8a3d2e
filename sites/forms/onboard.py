"""The onboarding page: a new site, its provider and its first build, in one form."""

from django import forms
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
        for name in ("build", "provider_name", "provider_client_id"):
            self.fields[name].needed = True

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        if slug and ProtectedSite.objects.filter(slug=slug).exists():
            raise forms.ValidationError("Another site already has this id.")
        return slug

    def clean(self):
        cleaned = super().clean()
        if not self.errors.get("slug") and not cleaned.get("slug") and cleaned.get("client") and cleaned.get("name"):
            cleaned["slug"] = self._free_slug(f"{cleaned['client']}-{cleaned['name']}")
        self._clean_local_host(cleaned)
        self._clean_settings(cleaned)
        self._clean_config(cleaned)
        self._clean_staged_build(required=self.build_required)
        # Only when the rest is fine; the view then checks it (check_provider fetches from the network).
        if not self.errors:
            self.provider = self._clean_provider()
        elif self.provider_is_new and (cleaned.get("provider_client_secret") or self._kept_secret()):
            self.kept_secret = cleaned.get("provider_client_secret") or self._kept_secret()
        return cleaned

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
