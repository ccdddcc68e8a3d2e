"""The actions on a site's page: upload a build, extend access, move release, delete."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from ..models import EdgeRelease, ProtectedSite
from .staged_builds import StagedBuildMixin


class BuildUploadForm(StagedBuildMixin, forms.Form):
    build = forms.FileField(
        label="Built site (.zip)", required=False, help_text="The output of your build, zipped, index.html at the top."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["build"].needed = True

    def clean(self):
        cleaned = super().clean()
        self._clean_staged_build(required=True)
        return cleaned


class ExtendAccessForm(forms.Form):
    not_after = forms.DateField(
        label="Access ends on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="End of this day, UTC. Empty: no end date.",
    )

    def clean_not_after(self):
        day = self.cleaned_data["not_after"]
        if day is None:
            return None
        end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        if end <= timezone.now():
            raise forms.ValidationError("Pick a day from today on.")
        return end

    @classmethod
    def for_site(cls, site: ProtectedSite) -> "ExtendAccessForm":
        # Suggest a week past today or the current end, whichever is later.
        base = max(site.not_after or timezone.now(), timezone.now())
        return cls(initial={"not_after": (base + timedelta(days=7)).date()})


class MoveReleaseForm(forms.Form):
    edge_release = forms.ModelChoiceField(label="Edge release", queryset=EdgeRelease.objects.none(), empty_label=None)

    def __init__(self, *args, site: ProtectedSite, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site
        self.fields["edge_release"].queryset = EdgeRelease.objects.filter(status=EdgeRelease.Status.PUBLISHED).exclude(
            pk=site.edge_release_id
        ).order_by("-published_at", "-pk")


class DeleteSiteForm(forms.Form):
    confirm = forms.CharField(label="Type the site id to confirm", max_length=64)

    def __init__(self, *args, site: ProtectedSite, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip()
        if value != self.site.slug:
            raise forms.ValidationError(f"Type {self.site.slug} exactly to delete this site.")
        return value
