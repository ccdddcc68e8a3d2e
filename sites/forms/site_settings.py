"""The settings staff choose for a site: one form cleaned the same way at onboarding and when editing."""

import re
from datetime import UTC, datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from edge_runtime.config import (
    MAX_SESSION_LIFETIME,
    MIN_SESSION_LIFETIME,
    ConfigError,
    is_host_name,
    is_lower_case_email,
    is_public_path,
)

from .. import presets
from ..local_stack import host_needs_certificate, local_stack
from ..models import IdentityProvider, ProtectedSite
from ..rendering import candidate_config_render
from .fields import LinesField

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_CERT_ARN = re.compile(r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}\Z")


# Where the edge validator's complaints about a candidate config go on the
# form (its error paths, "access.emails: ..."). Other parts of the config
# (the provider, the session keys) are not set here: the provider has its
# own check, and the console makes the keys.
CONFIG_FIELDS = {
    "site.id": "slug",
    "site.hosts": "hosts",
    "site.spa": "spa_mode",
    "access.allow_any_user": "allow_any_user",
    "access.emails": "emails",
    "access.email_domains": "email_domains",
    "access.groups_claim": "groups_claim",
    "access.groups": "groups",
    "access.not_before": "not_before",
    "access.not_after": "not_after",
    "session.lifetime_seconds": "session_hours",
    "paths.public": "public_paths",
}


def _ascii_hint(domain: str) -> str:
    """" (write it as xn--...)" for an internationalised domain, else ""."""
    try:
        ascii_form = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return ""
    return f" (write {domain} as {ascii_form})" if ascii_form != domain and is_host_name(ascii_form) else ""


def _day_end(day) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


class SiteSettingsForm(forms.Form):
    """The settings staff choose for a site, cleaned the same way at onboarding and when editing.

    `site` is the site being edited, or None while onboarding.
    """

    hosts = LinesField(
        label="Custom host names", required=False,
        help_text="One a line, e.g. demo.acme.com. Leave empty to use the CloudFront address only.",
    )
    acm_certificate_arn = forms.CharField(
        label="ACM certificate ARN", max_length=256, required=False,
        help_text="A certificate in us-east-1 that covers the custom host names.",
    )
    allow_any_user = forms.BooleanField(
        label="Let anyone who signs in at the provider see the site", required=False,
        help_text="Otherwise only the emails, domains and groups below get in.",
    )
    # Google only: "anyone who signs in" there is anyone with a Google account.
    allow_any_google_account = forms.BooleanField(
        label="Yes: let in every Google account in the world", required=False,
        help_text="Anyone with a Gmail address or any other Google account, not only the client's people.",
    )
    emails = LinesField(label="Allowed emails", required=False, help_text="One a line.")
    email_domains = LinesField(
        label="Allowed email domains", required=False, help_text="One a line, e.g. acme.com (exact domain, not sub-domains)."
    )
    groups_claim = forms.CharField(label="Groups claim", max_length=100, required=False, help_text="The id_token claim that lists groups, e.g. groups.")
    groups = LinesField(label="Allowed groups", required=False, help_text="One a line.")
    session_hours = forms.IntegerField(
        label="Session lifetime (hours)", initial=8, min_value=1, max_value=MAX_SESSION_LIFETIME // 3600,
        help_text="How long a viewer stays signed in before the provider is asked again.",
    )
    not_after = forms.DateField(
        label="Access ends on", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The demo stops letting anyone in at the end of this day (UTC). Leave empty for no end date.",
    )
    spa_mode = forms.BooleanField(
        label="Single-page app (unknown paths serve index.html)", required=False, initial=True
    )
    public_paths = LinesField(label="Public paths", required=False, help_text=(
            "Served without sign-in, one a line. A path ending in / is a folder and everything in it, "
            "e.g. /assets/; one without is that file (and anything below it), e.g. /favicon.ico."
        ),
    )

    site: ProtectedSite | None = None
    # The edge validator's error paths, by the form field they go beside.
    config_fields = CONFIG_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["acm_certificate_arn"].needed_when = "needed with custom names"
        if local_stack():
            # The local gateway serves *.localhost names; CloudFront's address does not resolve here.
            self.fields["hosts"].help_text = (
                "One a line, e.g. acme.localhost (no certificate needed for *.localhost on the local stack). "
                "Leave empty to get the site id under .localhost (acme-q3.localhost, say)."
            )

    def _checks(self, *names: str) -> bool:
        """Whether a rule across `names` applies: always for a new site; when
        editing, only if staff touched one of them, so an old quirk (made in
        the admin, say) does not block an unrelated change."""
        return self.site is None or any(name in self.changed_data for name in names)

    def clean_hosts(self):
        hosts = [h.lower().rstrip(".") for h in self.cleaned_data["hosts"]]
        bad = [h for h in hosts if not is_host_name(h)]
        if bad:
            raise forms.ValidationError(f"Not a host name (no scheme, port or path): {', '.join(bad)}")
        taken = ProtectedSite.hosts_taken(hosts, exclude_site_id=self.site.pk if self.site else None)
        if taken:
            raise forms.ValidationError(f"Already used by another site: {', '.join(sorted(taken))}")
        return hosts

    def clean_emails(self):
        emails = [e.lower() for e in self.cleaned_data["emails"]]
        bad = [e for e in emails if not _EMAIL.match(e)]
        if bad:
            raise forms.ValidationError(f"Not an email address: {', '.join(bad)}")
        # The edge matches addresses as the provider sends them, in ASCII.
        bad = [e for e in emails if not is_lower_case_email(e)]
        if bad:
            hints = "".join(_ascii_hint(e.rpartition("@")[2]) for e in bad)
            raise forms.ValidationError(
                f"The edge matches e-mail domains written in ASCII: {', '.join(bad)}{hints}."
            )
        return emails

    def clean_email_domains(self):
        domains = [d.lower().lstrip("@") for d in self.cleaned_data["email_domains"]]
        bad = [d for d in domains if not is_host_name(d) or "." not in d]
        if bad:
            hints = "".join(_ascii_hint(d) for d in bad)
            raise forms.ValidationError(f"Not a domain: {', '.join(bad)}{hints}")
        return domains

    def clean_public_paths(self):
        paths = self.cleaned_data["public_paths"]
        starred = [p for p in paths if "*" in p]
        if starred:
            # The edge matches prefixes, not patterns: /assets/* would match only itself.
            raise forms.ValidationError(
                f"A * is not a wildcard here: {', '.join(starred)}. For a folder and everything in it, "
                "end the path with / instead, e.g. /assets/."
            )
        if "/" in paths:
            raise forms.ValidationError("/ would make the whole site public: list folders or files, e.g. /assets/.")
        bad = [p for p in paths if not is_public_path(p)]
        if bad:
            raise forms.ValidationError(
                "Paths start with a single / and are not under /_gatehouse/, with no spaces, "
                f"no . or .. parts and no ?, # or %: {', '.join(bad)}"
            )
        return paths

    def clean_not_after(self):
        day = self.cleaned_data["not_after"]
        if self.site is not None and "not_after" not in self.changed_data:
            # The form shows a day; keep the exact time already set (maybe not 23:59).
            return self.site.not_after
        if day is None:
            return None
        end = _day_end(day)
        if end <= timezone.now():
            raise forms.ValidationError("Pick a day from today on: access would already be over.")
        return end

    def clean_session_hours(self):
        hours = self.cleaned_data["session_hours"]
        if self.site is not None and "session_hours" not in self.changed_data:
            return self.site.session_lifetime / 3600
        return hours

    def _clean_settings(self, cleaned: dict) -> None:
        hosts = cleaned.get("hosts") or []
        arn = (cleaned.get("acm_certificate_arn") or "").strip()
        if self._checks("hosts", "acm_certificate_arn"):
            if any(host_needs_certificate(h) for h in hosts) and not arn:
                self.add_error("acm_certificate_arn", "Custom host names need a certificate in us-east-1 that covers them.")
            elif arn and not _CERT_ARN.match(arn):
                self.add_error("acm_certificate_arn", "Enter an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:…:certificate/…).")
        access = ("allow_any_user", "emails", "email_domains", "groups")
        if self._checks(*access) and not any(cleaned.get(name) for name in access) and not self.errors.keys() & set(access):
            self.add_error(
                "allow_any_user",
                "Nobody could get in: allow anyone who signs in, or list emails, domains or groups.",
            )
        methods = self._methods(cleaned)
        if (
            "email_code" in methods
            and self._checks("signin_methods", "signin_choice", "emails", "email_domains")
            and not (cleaned.get("emails") or cleaned.get("email_domains"))
            and not self.errors.keys() & {"emails", "email_domains"}
        ):
            self.add_error(
                "emails",
                "E-mail codes go to the allowed emails and domains only: list at least one "
                "(“anyone who signs in” does not apply to them).",
            )
        if self._checks("groups", "groups_claim") and cleaned.get("groups") and not cleaned.get("groups_claim"):
            self.add_error("groups_claim", "Name the claim that carries the groups.")
        if (
            cleaned.get("allow_any_user")
            and self.provider_preset() == presets.GOOGLE
            and not cleaned.get("allow_any_google_account")
            and self._checks("allow_any_user", "allow_any_google_account")
        ):
            self.add_error(
                "allow_any_user",
                "With Google this lets in every Google account in the world. List the client's Google Workspace "
                "domain under Allowed email domains instead (matched against the account's hosted domain), "
                "or confirm below that anyone with a Google account may see the site.",
            )

    def _methods(self, cleaned: dict) -> list[str]:
        """The sign-in methods chosen on this form (the site's own where it has no such field)."""
        if "signin_methods" in cleaned:
            return cleaned["signin_methods"] or []
        methods = getattr(self, "signin_methods", None)
        if isinstance(methods, list):
            return methods
        return list(self.site.signin_methods) if self.site is not None else ["idp"]

    def _clean_config(self, cleaned: dict) -> None:
        """Render the config these settings publish and run the edge's own
        validator on it (for the site's schema version): whatever it refuses
        is an error beside its field, never a save whose publish then fails.

        Run last in clean(); it waits until the settings themselves are fine.
        """
        try:
            fields = self.settings_fields()
        except KeyError:
            return  # a setting has an error of its own (add_error drops it from cleaned_data)
        site = self._candidate_site(cleaned, fields)
        try:
            candidate_config_render(site, provider=self._candidate_provider())
        except ConfigError as exc:
            for error in exc.errors:
                where, _, problem = error.partition(": ")
                field = self.config_fields.get(where)
                if field is None:
                    continue
                self.add_error(field if field in self.fields else None, f"The edge would refuse this: {problem}.")

    def _candidate_site(self, cleaned: dict, fields: dict) -> ProtectedSite:
        """An unsaved site with these settings: a copy of the site being
        edited, or the new one onboarding makes."""
        if self.site is not None:
            site = ProtectedSite(**{f.attname: getattr(self.site, f.attname) for f in ProtectedSite._meta.concrete_fields})
        else:
            site = ProtectedSite(slug=cleaned.get("slug") or "candidate", edge_release=self._candidate_release(cleaned))
        for name, value in fields.items():
            setattr(site, name, value)
        try:
            # The model's own normalising (lower-case, sorted), as the save does it.
            site.clean()
        except ValidationError:
            pass  # the form has said so already
        return site

    def _candidate_release(self, cleaned: dict):
        return None

    def _candidate_provider(self) -> IdentityProvider | None:
        # Onboarding: the provider section is checked by the provider check,
        # so any provider renders it here.
        return self.site.provider if self.site is not None else IdentityProvider()

    def provider_preset(self) -> str | None:
        """The preset of the site's identity provider, as far as the form knows it."""
        if self.site is None or self.site.provider is None:
            return None
        return self.site.provider.preset

    @property
    def asks_google_confirmation(self) -> bool:
        """Whether the page shows the "every Google account" confirmation."""
        if self.provider_preset() != presets.GOOGLE:
            return False
        # Editing: always; onboarding: once "anyone" is ticked (before that,
        # the page shows it with the Google preset only).
        return self.site is not None or bool(self.is_bound and self.data.get("allow_any_user"))

    def settings_fields(self) -> dict:
        """The cleaned settings as model field values."""
        cd = self.cleaned_data
        return {
            "hosts": cd["hosts"],
            "acm_certificate_arn": cd["acm_certificate_arn"].strip(),
            "allow_any_user": cd["allow_any_user"],
            "emails": cd["emails"],
            "email_domains": cd["email_domains"],
            "groups_claim": cd["groups_claim"].strip(),
            "groups": cd["groups"],
            "session_lifetime": max(round(cd["session_hours"] * 3600), MIN_SESSION_LIFETIME),
            "not_after": cd["not_after"],
            "public_paths": cd["public_paths"],
            "spa_mode": cd["spa_mode"],
        }
