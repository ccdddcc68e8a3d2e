"""The "Edit settings" page."""

from datetime import UTC, datetime, time
from decimal import Decimal

from django import forms
from django.conf import settings

from edge_runtime.config import (
    MAX_ASSERTION_LIFETIME,
    MAX_SESSION_LIFETIME,
    MIN_ASSERTION_LIFETIME,
    MIN_SESSION_LIFETIME,
    is_public_path,
)

from .. import presets
from ..models import IdentityProvider, ProtectedSite
from .fields import LinesField
from .site_settings import CONFIG_FIELDS, SiteSettingsForm

SIGNIN_CHOICES = [
    ("idp", "At the site's provider (single sign-on)"),
    ("email_code", "With a code sent by e-mail (to the allowed emails and domains only)"),
]
# The edge's complaints about the sign-in and assertion settings, by field.
EDIT_CONFIG_FIELDS = {
    **CONFIG_FIELDS,
    "config.signin_methods": "signin_methods",
    "config.provider": "provider",
    "config.email_code": "signin_methods",
    "email_code.sender": "signin_methods",
    "identity_assertion.path_prefixes": "assertion_path_prefixes",
    "identity_assertion.lifetime_seconds": "assertion_lifetime",
}


class SiteEditForm(SiteSettingsForm):
    """Edit a site's settings; bound to the site so unchanged values stay exactly as they are."""

    not_before = forms.DateField(
        label="Access starts on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="Nobody gets in before the start of this day (UTC). Leave empty to allow access now.",
    )
    signin_methods = forms.MultipleChoiceField(
        label="How viewers sign in", choices=SIGNIN_CHOICES, widget=forms.CheckboxSelectMultiple,
        help_text="With both, the edge shows a page where the viewer chooses. E-mail codes come from the console's "
        "SES sender and admit exactly the allowed emails and domains.",
    )
    assertion_path_prefixes = LinesField(
        label="Identity assertion paths", required=False,
        help_text="Requests under these paths reach the origin with an X-Gatehouse-Assertion header: a signed "
        "ES256 JWT naming the viewer, checked with the key set at /_gatehouse/jwks.json. One a line, e.g. /api/.",
    )
    assertion_lifetime = forms.IntegerField(
        label="Identity assertion lifetime (seconds)", initial=300,
        min_value=MIN_ASSERTION_LIFETIME, max_value=MAX_ASSERTION_LIFETIME,
    )
    reason = forms.CharField(
        label="Why", max_length=150, required=False,
        help_text="A few words for the config history, e.g. “let the consultancy in”.",
    )

    def __init__(self, *args, site: ProtectedSite, **kwargs):
        self.site = site
        super().__init__(*args, initial=self.initial_for(site), **kwargs)
        if site.provider is None or site.provider.preset != presets.GOOGLE:
            del self.fields["allow_any_google_account"]
        if site.provider is None:
            # An e-mail-code-only site: a provider to add the provider method with.
            self.fields["provider"] = forms.ModelChoiceField(
                label="Identity provider", queryset=IdentityProvider.objects.order_by("name"), required=False,
                empty_label="None: viewers sign in with an e-mail code only",
                help_text="Needed to let viewers sign in at an identity provider; add a new one in the admin.",
            )
            self.fields["provider"].needed_when = "needed to sign in at the identity provider"
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
            "allow_any_google_account": site.allow_any_user and site.provider is not None
            and site.provider.preset == presets.GOOGLE,
            "provider": site.provider,
            "emails": site.emails,
            "email_domains": site.email_domains,
            "groups_claim": site.groups_claim,
            "groups": site.groups,
            "session_hours": int(hours) if hours == int(hours) else round(Decimal(site.session_lifetime) / 3600, 2),
            "not_before": site.not_before.astimezone(UTC).date() if site.not_before else None,
            "not_after": site.not_after.astimezone(UTC).date() if site.not_after else None,
            "public_paths": site.public_paths,
            "spa_mode": site.spa_mode,
            "signin_methods": site.signin_methods,
            "assertion_path_prefixes": site.assertion_path_prefixes,
            "assertion_lifetime": site.assertion_lifetime,
        }

    config_fields = EDIT_CONFIG_FIELDS

    def clean_signin_methods(self):
        methods = self.cleaned_data["signin_methods"]
        if "email_code" in methods and not settings.GATEHOUSE_SES_SENDER:
            raise forms.ValidationError("E-mail codes need a sender: set GATEHOUSE_SES_SENDER (a verified SES identity).")
        return [m for m, _ in SIGNIN_CHOICES if m in methods]

    def clean_assertion_path_prefixes(self):
        prefixes = self.cleaned_data["assertion_path_prefixes"]
        bad = [p for p in prefixes if p == "/" or not is_public_path(p)]
        if bad:
            raise forms.ValidationError(
                "Paths start with a single /, are not / itself and are not under /_gatehouse/, with no spaces, "
                f"no . or .. parts and no ?, # or %: {', '.join(bad)}"
            )
        return prefixes

    def clean_not_before(self):
        day = self.cleaned_data["not_before"]
        if "not_before" not in self.changed_data:
            return self.site.not_before
        return datetime.combine(day, time(0, 0), tzinfo=UTC) if day else None

    def clean(self):
        cleaned = super().clean()
        self._clean_settings(cleaned)
        if "provider" in self.fields and "idp" in (cleaned.get("signin_methods") or []) and not cleaned.get("provider"):
            self.add_error(
                "provider",
                "Signing in at the identity provider needs a provider: choose one, or untick that method.",
            )
        start, end = cleaned.get("not_before"), cleaned.get("not_after")
        if start and end and start >= end and self._checks("not_before", "not_after"):
            self.add_error("not_after", "Access must end after it starts.")
        self._clean_config(cleaned)
        return cleaned

    def settings_fields(self) -> dict:
        cd = self.cleaned_data
        return {
            **super().settings_fields(),
            "not_before": cd["not_before"],
            "signin_methods": cd["signin_methods"],
            "assertion_path_prefixes": cd["assertion_path_prefixes"],
            "assertion_lifetime": cd["assertion_lifetime"],
            **({"provider": cd.get("provider")} if "provider" in self.fields else {}),
        }

    def _candidate_provider(self):
        if "provider" in self.fields:
            return self.cleaned_data.get("provider")
        return self.site.provider
