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
    """Moves the day access ends, later only unless staff confirm shortening it.

    "No end date" is the latest end there is: setting any day on such a site
    shortens access too.
    """

    not_after = forms.DateField(
        label="Access ends on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="End of this day, UTC. Empty: no end date.",
    )
    shorten = forms.BooleanField(label="Yes, end access earlier than it ends now", required=False)

    def __init__(self, *args, site: ProtectedSite, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site

    def clean_not_after(self):
        day = self.cleaned_data["not_after"]
        if day is None:
            return None
        end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        if end <= timezone.now():
            raise forms.ValidationError("Pick a day from today on.")
        return end

    def clean(self):
        cleaned = super().clean()
        if "not_after" in cleaned and self.shortens(cleaned["not_after"]) and not cleaned.get("shorten"):
            current = f"{self.site.not_after:%d %b %Y %H:%M} UTC" if self.site.not_after else "no end date"
            self.add_error(
                "not_after",
                f"This ends access earlier than now ({current}). Pick a later day, or tick the box below to shorten it.",
            )
            self.asks_to_shorten = True
        return cleaned

    def shortens(self, end: datetime | None) -> bool:
        current = self.site.not_after
        if end is None:
            return False
        return current is None or end < current

    asks_to_shorten = False

    @classmethod
    def for_site(cls, site: ProtectedSite) -> "ExtendAccessForm":
        # A week past the current end (or past today, if it is over); a site
        # with no end date keeps it: any day would shorten access.
        if site.not_after is None:
            return cls(site=site)
        base = max(site.not_after, timezone.now())
        return cls(site=site, initial={"not_after": (base + timedelta(days=7)).date()})


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
