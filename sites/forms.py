"""Console forms: onboarding, uploads and the site actions."""

import re
import uuid
import zipfile
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from django import forms
from django.core import signing
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.text import get_valid_filename, slugify

from edge_runtime.config import MAX_SESSION_LIFETIME, MIN_SESSION_LIFETIME, is_host_name

from . import presets
from .crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from .models import EdgeRelease, IdentityProvider, ProtectedSite
from .presets import PresetError
from .archives import BuildRefused, archive_entries
from .services.providers import ProviderCheckError, provider_check

STAGED_PREFIX = "staged-builds/"
# A staged file is offered back for this long after a failed submit.
STAGED_MAX_AGE = 24 * 3600
_STAGED_SALT = "gatehouse.staged-build"
_KEPT_SALT = "gatehouse.kept-secret"
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")
_CERT_ARN = re.compile(r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}\Z")


def _lines(value: str) -> list[str]:
    """One item a line (commas work too), blanks dropped, order kept, no repeats."""
    items = []
    for raw in re.split(r"[\n,]", value or ""):
        item = raw.strip()
        if item and item not in items:
            items.append(item)
    return items


class LinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value):
        return _lines(super().to_python(value))

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value


# --- Staged builds ------------------------------------------------------------


def zip_problem(upload) -> str | None:
    """Why `upload` is not a usable built site, or None.

    The same rules as the worker's (sites.archives), so the form refuses
    now what the upload would refuse minutes later.
    """
    if not upload.name.lower().endswith(".zip"):
        return "Choose a .zip file of the built site."
    try:
        with zipfile.ZipFile(upload) as archive:
            try:
                archive_entries(archive)
            except BuildRefused as exc:
                message = str(exc)
                nested = sorted(n for n in archive.namelist() if n.count("/") == 1 and n.endswith("/index.html"))
                if "no index.html" in message and nested:
                    return (
                        f"The zip has no index.html at its top level (found {nested[0]}): "
                        "zip the contents of the build folder, not the folder itself."
                    )
                return f"The zip cannot be used: {message}."
    except zipfile.BadZipFile:
        return "That file is not a readable zip archive."
    finally:
        upload.seek(0)
    return None


def stage_build(upload) -> str:
    """Keep the zip in default storage; the worker reads it from there, never through the broker."""
    name = get_valid_filename(upload.name) or "build.zip"
    return default_storage.save(f"{STAGED_PREFIX}{uuid.uuid4().hex}/{name}", upload)


def staged_token(staged_name: str) -> str:
    # Signed, so a hidden field cannot be edited to point at another stored file.
    return signing.dumps(staged_name, salt=_STAGED_SALT)


def staged_name_from(token: str) -> str | None:
    try:
        name = signing.loads(token, salt=_STAGED_SALT, max_age=STAGED_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(name, str) or not name.startswith(STAGED_PREFIX) or not default_storage.exists(name):
        return None
    return name


class StagedBuildMixin:
    """A zip field that survives a failed submit: the file is staged as soon as
    it validates, and the form carries a signed reference to it."""

    build_field = "build"

    def _clean_staged_build(self, *, required: bool):
        upload = self.cleaned_data.get(self.build_field)
        token = self.data.get("staged_build", "")
        if upload:
            problem = zip_problem(upload)
            if problem:
                self.add_error(self.build_field, problem)
                return None
            self.staged_name = stage_build(upload)
            self.staged_display = (upload.name, upload.size)
            return self.staged_name
        if token:
            name = staged_name_from(token)
            if name:
                self.staged_name = name
                self.staged_display = (name.rsplit("/", 1)[-1], default_storage.size(name))
                return name
        if required:
            self.add_error(self.build_field, "Choose the built site as a .zip file (it must have index.html at its top level).")
        return None

    @property
    def staged_build_token(self) -> str:
        return staged_token(self.staged_name) if getattr(self, "staged_name", None) else ""


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


# --- Onboarding ----------------------------------------------------------------

PRESET_FIELDS = {
    # Which provider inputs each preset needs (the rest come from discovery).
    "provider_domain": [presets.AUTH0, presets.COGNITO, presets.OKTA],
    "provider_region": [presets.COGNITO],
    "provider_user_pool_id": [presets.COGNITO],
    "provider_tenant_id": [presets.ENTRA],
    "provider_issuer": [presets.OIDC],
}
NEW_PROVIDER = "new"


class ProviderFieldsMixin:
    """The identity provider part of onboarding, also used by "Check provider"."""

    def _add_provider_fields(self):
        existing = [(str(p.pk), str(p)) for p in IdentityProvider.objects.order_by("name")]
        self.fields["provider_choice"] = forms.ChoiceField(
            label="Identity provider",
            choices=[(NEW_PROVIDER, "Add a new provider…"), *existing],
            initial=NEW_PROVIDER,
            help_text="Reuse a provider another site already signs in with, or add a new one.",
        )
        self.fields["provider_name"] = forms.CharField(
            label="Provider name", max_length=100, required=False, help_text="For staff, e.g. “Acme Auth0 tenant”."
        )
        self.fields["provider_preset"] = forms.ChoiceField(label="Provider type", choices=presets.CHOICES, initial=presets.AUTH0)
        self.fields["provider_domain"] = forms.CharField(
            label="Domain", max_length=253, required=False,
            help_text="Auth0 or Okta tenant domain (acme.eu.auth0.com), or the Cognito hosted UI domain.",
        )
        self.fields["provider_region"] = forms.CharField(label="AWS region", max_length=32, required=False, help_text="e.g. eu-west-1")
        self.fields["provider_user_pool_id"] = forms.CharField(
            label="User pool id", max_length=64, required=False, help_text="e.g. eu-west-1_AbCdEf123"
        )
        self.fields["provider_tenant_id"] = forms.CharField(
            label="Directory (tenant) id", max_length=64, required=False, help_text="A GUID from the Entra admin centre."
        )
        self.fields["provider_issuer"] = forms.URLField(
            label="Issuer URL", max_length=500, required=False, assume_scheme="https",
            help_text="Exactly as the provider's discovery document names it, trailing slash included.",
        )
        self.fields["provider_client_id"] = forms.CharField(label="Client id", max_length=512, required=False)
        self.fields["provider_client_secret"] = forms.CharField(
            label="Client secret", required=False, widget=forms.PasswordInput(render_value=False),
            help_text="Stored encrypted; never shown again.",
        )
        self.fields["provider_token_endpoint_auth_method"] = forms.ChoiceField(
            label="Token endpoint authentication",
            choices=IdentityProvider.AuthMethod.choices,
            initial=IdentityProvider.AuthMethod.BASIC,
        )
        self.fields["provider_scopes"] = forms.CharField(
            label="Scopes", initial="openid email profile", max_length=500,
            help_text="Separated by spaces; must include openid.",
        )
        # Not "optional": _clean_provider requires them in these cases.
        self.fields["provider_client_secret"].needed_when = "needed for Basic or form-post authentication"
        self.fields["provider_issuer"].needed_when = "needed for generic OpenID Connect"

    @property
    def provider_is_new(self) -> bool:
        return self.data.get("provider_choice", NEW_PROVIDER) == NEW_PROVIDER

    def _clean_provider(self, *, complete: bool = True) -> IdentityProvider | None:
        """An existing provider, or a new one checked against its discovery document (unsaved).

        `complete=False` checks discovery only, before staff have typed the
        client id and secret.
        """
        cd = self.cleaned_data
        choice = cd.get("provider_choice")
        if choice and choice != NEW_PROVIDER:
            return IdentityProvider.objects.filter(pk=choice).first()
        if not choice:
            return None
        missing = False
        for name in ("provider_name", "provider_client_id") if complete else ():
            if not cd.get(name):
                self.add_error(name, "Required for a new provider.")
                missing = True
        method = cd.get("provider_token_endpoint_auth_method")
        secret = cd.get("provider_client_secret") or self._kept_secret()
        if complete and method and method != IdentityProvider.AuthMethod.NONE and not secret:
            self.add_error("provider_client_secret", "This authentication method needs the client secret.")
            missing = True
        scopes = (cd.get("provider_scopes") or "").split()
        if "openid" not in scopes:
            self.add_error("provider_scopes", "The scopes must include openid.")
            missing = True
        provider = IdentityProvider(
            name=cd.get("provider_name", ""),
            preset=cd.get("provider_preset") or presets.OIDC,
            domain=cd.get("provider_domain", "").strip(),
            region=cd.get("provider_region", "").strip(),
            user_pool_id=cd.get("provider_user_pool_id", "").strip(),
            tenant_id=cd.get("provider_tenant_id", "").strip(),
            issuer=cd.get("provider_issuer", ""),
            client_id=cd.get("provider_client_id", "").strip(),
            token_endpoint_auth_method=method or IdentityProvider.AuthMethod.BASIC,
            scopes=scopes,
        )
        if secret:
            provider.client_secret = secret
            self.kept_secret = secret
        if missing:
            return None
        try:
            provider.apply_preset()
        except PresetError as exc:
            field = f"provider_{exc.field}"
            self.add_error(field if field in self.fields else None, str(exc))
            return None
        try:
            self.provider_metadata = provider_check(provider)
        except ProviderCheckError as exc:
            self.add_error(None, f"The provider check failed: {exc}")
            return None
        return provider

    # A secret typed before a failed submit comes back encrypted and signed in
    # a hidden field: the page never holds it in clear, and staff need not
    # type it again.
    def _kept_secret(self) -> str:
        token = self.data.get("provider_client_secret_kept", "")
        if not token:
            return ""
        try:
            return secret_decrypt(signing.loads(token, salt=_KEPT_SALT, max_age=3600))
        except (signing.BadSignature, SecretUnreadable):
            return ""

    @property
    def kept_secret_token(self) -> str:
        secret = getattr(self, "kept_secret", "")
        return signing.dumps(secret_encrypt(secret), salt=_KEPT_SALT) if secret else ""


class ProviderCheckForm(ProviderFieldsMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_provider_fields()

    def clean(self):
        cleaned = super().clean()
        self.provider = self._clean_provider(complete=False)
        if self.provider is not None and self.provider.pk is not None:
            # An existing provider: check it afresh, saving nothing.
            try:
                self.provider_metadata = provider_check(self.provider)
            except ProviderCheckError as exc:
                self.add_error(None, f"The provider check failed: {exc}")
        return cleaned


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
    public_paths = LinesField(label="Public paths", required=False, help_text="Served without sign-in, one a line, e.g. /favicon.ico or /assets/*.")

    site: ProtectedSite | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["acm_certificate_arn"].needed_when = "needed with custom names"

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
        taken = ProtectedSite.hosts_in_use(exclude_site_id=self.site.pk if self.site else None) & set(hosts)
        if taken:
            raise forms.ValidationError(f"Already used by another site: {', '.join(sorted(taken))}")
        return hosts

    def clean_emails(self):
        emails = [e.lower() for e in self.cleaned_data["emails"]]
        bad = [e for e in emails if not _EMAIL.match(e)]
        if bad:
            raise forms.ValidationError(f"Not an email address: {', '.join(bad)}")
        return emails

    def clean_email_domains(self):
        domains = [d.lower().lstrip("@") for d in self.cleaned_data["email_domains"]]
        bad = [d for d in domains if not is_host_name(d) or "." not in d]
        if bad:
            raise forms.ValidationError(f"Not a domain: {', '.join(bad)}")
        return domains

    def clean_public_paths(self):
        paths = self.cleaned_data["public_paths"]
        bad = [p for p in paths if not p.startswith("/") or p.startswith("//") or p.startswith("/_gatehouse/")]
        if bad:
            raise forms.ValidationError(f"Paths start with a single / and are not under /_gatehouse/: {', '.join(bad)}")
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
            if hosts and not arn:
                self.add_error("acm_certificate_arn", "Custom host names need a certificate in us-east-1 that covers them.")
            elif arn and not _CERT_ARN.match(arn):
                self.add_error("acm_certificate_arn", "Enter an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:…:certificate/…).")
        access = ("allow_any_user", "emails", "email_domains", "groups")
        if self._checks(*access) and not any(cleaned.get(name) for name in access) and not self.errors.keys() & set(access):
            self.add_error(
                "allow_any_user",
                "Nobody could get in: allow anyone who signs in, or list emails, domains or groups.",
            )
        if self._checks("groups", "groups_claim") and cleaned.get("groups") and not cleaned.get("groups_claim"):
            self.add_error("groups_claim", "Name the claim that carries the groups.")

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
        self._clean_settings(cleaned)
        self._clean_staged_build(required=True)
        # Last, and only when the rest is fine: it fetches from the network.
        if not self.errors:
            self.provider = self._clean_provider()
        elif self.provider_is_new and (cleaned.get("provider_client_secret") or self._kept_secret()):
            self.kept_secret = cleaned.get("provider_client_secret") or self._kept_secret()
        return cleaned

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


# --- Site actions ----------------------------------------------------------------


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
        return cleaned

    def settings_fields(self) -> dict:
        return {**super().settings_fields(), "not_before": self.cleaned_data["not_before"]}



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
