"""The "Edit settings" page."""

from datetime import UTC, datetime, time
from decimal import Decimal

from django import forms

from edge_runtime.config import MAX_SESSION_LIFETIME, MIN_SESSION_LIFETIME

from .. import presets
from ..models import ProtectedSite
from .site_settings import SiteSettingsForm


class SiteEditForm(SiteSettingsForm):
    """Edit a site's settings; bound to the site so unchanged values stay exactly as they are."""

    not_before = forms.DateField(
        label="Access starts on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Nobody gets in before the start of this day (UTC). Leave empty to allow access now.",
    )
    reason = forms.CharField(
        label="Why", max_length=150, required=False,
        help_text="A few words for the config history, e.g. “let the consultancy in”.",
    )

    def __init__(self, *args, site: ProtectedSite, **kwargs):
        self.site = site
        super().__init__(*args, initial=self.initial_for(site), **kwargs)
        if site.provider.preset != presets.GOOGLE:
            del self.fields["allow_any_google_account"]
        if site.session_lifetime % 3600:
            # Set elsewhere to part of an hour: a whole-hours field could not even show it.
            self.fields["session_hours"] = forms.DecimalField(
                label=self.fields["session_hours"].label, help_text=self.fields["session_hours"].help_text,
                max_digits=6, decimal_places=2, min_value=Decimal(MIN_SESSION_LIFETIME) / 3600,
                max_value=MAX_SESSION_LIFETIME // 3600,
            )

    @staticmethod
    def initial_for(site: ProtectedSite) -> dict:
        hours = site.session_lifetime / 3600
        return {
            "hosts": site.hosts,
            "acm_certificate_arn": site.acm_certificate_arn,
            "allow_any_user": site.allow_any_user,
            "allow_any_google_account": site.allow_any_user and site.provider.preset == presets.GOOGLE,
            "emails": site.emails,
            "email_domains": site.email_domains,
            "groups_claim": site.groups_claim,
            "groups": site.groups,
            "session_hours": int(hours) if hours == int(hours) else round(Decimal(site.session_lifetime) / 3600, 2),
            "not_before": site.not_before.astimezone(UTC).date() if site.not_before else None,
            "not_after": site.not_after.astimezone(UTC).date() if site.not_after else None,
            "public_paths": site.public_paths,
            "spa_mode": site.spa_mode,
        }

    def clean_not_before(self):
        day = self.cleaned_data["not_before"]
        if "not_before" not in self.changed_data:
            return self.site.not_before
        return datetime.combine(day, time(0, 0), tzinfo=UTC) if day else None

    def clean(self):
        cleaned = super().clean()
        self._clean_settings(cleaned)
        start, end = cleaned.get("not_before"), cleaned.get("not_after")
        if start and end and start >= end and self._checks("not_before", "not_after"):
            self.add_error("not_after", "Access must end after it starts.")
        self._clean_config(cleaned)
        return cleaned

    def settings_fields(self) -> dict:
        return {**super().settings_fields(), "not_before": self.cleaned_data["not_before"]}
