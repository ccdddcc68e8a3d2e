"""The identity provider part of onboarding, and the "Check provider" button."""

from django import forms
from django.core import signing

from .. import presets
from ..crypto import SecretUnreadable, secret_decrypt, secret_encrypt
from ..models import IdentityProvider, ProtectedSite
from ..presets import PresetError
from ..services.providers import ProviderCheckError, provider_check

_KEPT_SALT = "gatehouse.kept-secret"
PRESET_FIELDS = {
    # Which provider inputs each preset needs (the rest come from discovery).
    "provider_domain": [presets.AUTH0, presets.COGNITO, presets.OKTA],
    "provider_region": [presets.COGNITO],
    "provider_user_pool_id": [presets.COGNITO],
    "provider_tenant_id": [presets.ENTRA],
    "provider_issuer": [presets.OIDC],
}
NEW_PROVIDER = "new"


def _usual_provider(count: int) -> str:
    """The provider choice a new site starts with: the only provider, else
    the one the newest site signs in with, else a new one."""
    if count == 1:
        return str(IdentityProvider.objects.values_list("pk", flat=True).get())
    if count:
        latest = ProtectedSite.objects.order_by("-created_at", "-pk").values_list("provider_id", flat=True).first()
        if latest:
            return str(latest)
    return NEW_PROVIDER


def _issuer_field(preset: str) -> str | None:
    """The field staff type the issuer (or what it is made from) into, for this preset."""
    for name in ("provider_issuer", "provider_tenant_id", "provider_user_pool_id", "provider_domain"):
        if preset in PRESET_FIELDS[name]:
            return name
    return None


class ProviderFieldsMixin:
    """The identity provider part of onboarding, also used by "Check provider"."""

    def _add_provider_fields(self):
        existing = [(str(p.pk), str(p)) for p in IdentityProvider.objects.order_by("name")]
        self.fields["provider_choice"] = forms.ChoiceField(
            label="Identity provider",
            choices=[(NEW_PROVIDER, "Add a new provider…"), *existing],
            initial=_usual_provider(len(existing)),
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
        self._label_by_preset()

    def current_preset(self) -> str:
        """The preset the page shows: what was sent, else the initial one."""
        sent = self.data.get("provider_preset") if self.is_bound else None
        return sent if sent in dict(presets.CHOICES) else self.fields["provider_preset"].initial

    def _label_by_preset(self) -> None:
        # Fields a preset needs are marked "required for <preset>" (not
        # "optional"); gatehouse.js rewrites the marker when the preset changes.
        current = self.current_preset()
        self.preset_label = dict(presets.CHOICES)[current]
        for name, needed_by in PRESET_FIELDS.items():
            field = self.fields[name]
            field.presets = needed_by
            field.preset_required = current in needed_by
            field.preset_names = ", ".join(dict(presets.CHOICES)[p] for p in needed_by)

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
        return provider

    # Set by a form that checks a provider already saved too.
    check_existing_provider = False

    def check_provider(self) -> bool:
        """Check a new provider against its discovery document; an error goes on the form.

        Network I/O, so views call it after `is_valid()`, never from clean().
        """
        provider = getattr(self, "provider", None)
        if provider is None:
            return False
        if provider.pk is not None and not self.check_existing_provider:
            return True
        try:
            self.provider_metadata = provider_check(provider)
        except ProviderCheckError as exc:
            # Beside the field the issuer comes from for this preset (Issuer
            # URL, Domain, …); Google's is fixed, so it stays on the form.
            self.add_error(_issuer_field(provider.preset), f"The provider check failed: {exc}")
            return False
        return True

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
    # An existing provider is checked afresh too, saving nothing.
    check_existing_provider = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_provider_fields()

    def clean(self):
        cleaned = super().clean()
        self.provider = self._clean_provider(complete=False)
        return cleaned
