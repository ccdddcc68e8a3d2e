import json
import secrets as pysecrets
import uuid
from base64 import urlsafe_b64encode

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from edge_runtime.config import CURRENT_SCHEMA_VERSION, SIGNIN_METHODS, is_host_name
from edge_runtime.settings import origin_for

from . import presets
from .context import current_chain, current_token_id
from .crypto import secret_decrypt, secret_encrypt

CALLBACK_PATH = "/_gatehouse/callback"
SIGN_OUT_PATH = "/_gatehouse/sign-out"
SIGNED_OUT_PATH = "/_gatehouse/signed-out"


def edge_public_origin() -> dict | None:
    """The edge's `public_origin` setting for this console's scheme and port:
    None in production (https on 443), {"scheme", "port"} for a local run."""
    scheme, port = settings.GATEHOUSE_EDGE_PUBLIC_SCHEME, settings.GATEHOUSE_EDGE_PUBLIC_PORT
    if scheme == "https" and (not port or port == 443):
        return None
    return {"scheme": scheme, **({"port": port} if port else {})}


def _list():
    return []


def _dict():
    return {}


def _default_scopes():
    return ["openid", "email", "profile"]


def _default_algs():
    return ["RS256"]


def _jwks():
    return {"keys": []}


class IdentityProvider(models.Model):
    class AuthMethod(models.TextChoices):
        BASIC = "client_secret_basic", "Client secret (HTTP Basic)"
        POST = "client_secret_post", "Client secret (form post)"
        NONE = "none", "None (PKCE only, public client)"

    name = models.CharField(max_length=100)
    preset = models.CharField(max_length=16, choices=presets.CHOICES, default=presets.OIDC)
    # Preset inputs: Auth0/Okta tenant domain, Cognito hosted-UI domain.
    domain = models.CharField(max_length=253, blank=True)
    region = models.CharField(max_length=32, blank=True)
    user_pool_id = models.CharField(max_length=64, blank=True)
    tenant_id = models.CharField(max_length=64, blank=True, help_text="Entra ID directory (tenant) id.")

    issuer = models.URLField(max_length=500)
    authorization_endpoint = models.URLField(max_length=500, blank=True)
    token_endpoint = models.URLField(max_length=500, blank=True)
    userinfo_endpoint = models.URLField(max_length=500, blank=True)
    end_session_endpoint = models.URLField(max_length=500, blank=True)
    jwks_uri = models.URLField(max_length=500, blank=True)

    client_id = models.CharField(max_length=512)
    client_secret_encrypted = models.TextField(blank=True, editable=False)
    token_endpoint_auth_method = models.CharField(
        max_length=32, choices=AuthMethod.choices, default=AuthMethod.BASIC
    )
    scopes = models.JSONField(default=_default_scopes)
    authorize_params = models.JSONField(default=_dict, blank=True)
    id_token_algs = models.JSONField(default=_default_algs)

    discovery = models.JSONField(default=_dict, blank=True, editable=False)
    jwks = models.JSONField(default=_jwks, blank=True, editable=False)
    keys_fetched_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_check_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_check_error = models.TextField(blank=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.get_preset_display()})"

    @property
    def client_secret(self) -> str:
        if not self.client_secret_encrypted:
            return ""
        return secret_decrypt(self.client_secret_encrypted)

    @client_secret.setter
    def client_secret(self, value: str) -> None:
        self.client_secret_encrypted = secret_encrypt(value) if value else ""

    @property
    def has_client_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    def preset_values(self) -> presets.PresetValues:
        return presets.preset_values(
            self.preset,
            domain=self.domain,
            region=self.region,
            user_pool_id=self.user_pool_id,
            tenant_id=self.tenant_id,
            issuer=self.issuer,
        )

    def apply_preset(self) -> None:
        """Fill the issuer (and what discovery leaves out) from the preset inputs."""
        values = self.preset_values()
        self.issuer = values.issuer
        if values.end_session_endpoint:
            self.end_session_endpoint = values.end_session_endpoint
        if values.tenant_id:
            self.tenant_id = values.tenant_id

    @property
    def sends_authorization_response_iss(self) -> bool:
        """The last discovery said every authorization response carries `iss`
        (RFC 9207), so the edge refuses one without it."""
        return (self.discovery or {}).get("authorization_response_iss_parameter_supported") is True

    @property
    def config_tenant_id(self) -> str | None:
        return (self.tenant_id or None) if self.preset == presets.ENTRA else None


class EdgeRelease(models.Model):
    class Status(models.TextChoices):
        BUILDING = "building"
        PUBLISHING = "publishing"
        PUBLISHED = "published"
        FAILED = "failed"
        RETIRED = "retired"

    version = models.CharField(max_length=64, unique=True)
    zip_sha256 = models.CharField(max_length=64, db_index=True)
    zip_size = models.PositiveIntegerField(default=0)
    schema_version = models.PositiveSmallIntegerField(default=CURRENT_SCHEMA_VERSION)
    function_name = models.CharField(max_length=64, blank=True)
    function_arn = models.CharField(max_length=256, blank=True)
    # A numbered version: Lambda@Edge accepts neither $LATEST nor an alias.
    version_arn = models.CharField(max_length=256, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BUILDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"edge release {self.version}"


def _signin_methods_default():
    return ["idp"]


class ProtectedSite(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PROVISIONING = "provisioning"
        LIVE = "live"
        FAILED = "failed"
        DELETING = "deleting"

    client = models.CharField(max_length=100)
    name = models.CharField(max_length=100)
    slug = models.SlugField(
        max_length=64, unique=True, help_text="The site's id: in cookies, bucket names and AWS references."
    )
    hosts = models.JSONField(default=_list, blank=True, help_text="Custom host names, lower-case, no port.")
    acm_certificate_arn = models.CharField(max_length=256, blank=True)
    # None for a site whose viewers sign in by e-mail code only (signin_methods without "idp").
    provider = models.ForeignKey(IdentityProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="sites")

    allow_any_user = models.BooleanField(default=False)
    emails = models.JSONField(default=_list, blank=True)
    email_domains = models.JSONField(default=_list, blank=True)
    groups_claim = models.CharField(max_length=100, blank=True)
    groups = models.JSONField(default=_list, blank=True)
    session_lifetime = models.PositiveIntegerField(default=8 * 3600, help_text="Seconds.")
    not_before = models.DateTimeField(null=True, blank=True)
    not_after = models.DateTimeField(null=True, blank=True, help_text="Access ends (demo expiry).")
    public_paths = models.JSONField(default=_list, blank=True)
    spa_mode = models.BooleanField(default=True)
    disabled = models.BooleanField(default=False)
    # Set by "sign everyone out": for a while after it the edge demands an
    # authentication at the provider newer than this (session.revoked_at).
    sessions_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How viewers sign in (edge_runtime.config.SIGNIN_METHODS): the provider,
    # a code the edge e-mails (through SES, from the settings' sender), or both.
    signin_methods = models.JSONField(default=_signin_methods_default)
    # The identity assertion for backend origins (docs/edge-config.md): on
    # these path prefixes the edge adds an ES256 JWT signed with this key.
    assertion_path_prefixes = models.JSONField(default=_list, blank=True)
    assertion_lifetime = models.PositiveIntegerField(default=300, help_text="Seconds.")
    assertion_kid = models.CharField(max_length=32, blank=True, editable=False)
    assertion_key_encrypted = models.TextField(blank=True, editable=False)

    edge_release = models.ForeignKey(EdgeRelease, null=True, blank=True, on_delete=models.PROTECT, related_name="sites")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    bucket_name = models.CharField(max_length=63, blank=True)
    distribution_id = models.CharField(max_length=32, blank=True)
    distribution_domain = models.CharField(max_length=253, blank=True)
    # The origin access control the distribution reads the bucket with: at
    # most GATEHOUSE_SITES_PER_OAC sites share one (provisioning/oac.py).
    oac_name = models.CharField(max_length=64, blank=True, editable=False)
    live_build = models.ForeignKey("Build", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Builds go live in the order they were made live, not the order their
    # uploads finish: every "make this live" (an upload, the make-live
    # button, a restore) takes the next number of live_seq_issued, and the
    # live build only ever moves to a higher one than live_seq.
    live_seq_issued = models.PositiveBigIntegerField(default=0, editable=False)
    live_seq = models.PositiveBigIntegerField(default=0, editable=False)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "name"]
        # Staff roles (sites/roles.py): each group holds its role's permission and those below.
        permissions = [
            ("view_console", "Can read every console page"),
            ("operate_sites", "Can onboard, upload builds, edit access, redeploy"),
            ("administer_sites", "Can delete, disable, manage providers and releases"),
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["client", "name"]),
            models.Index(fields=["not_after"]),
        ]

    def __str__(self):
        return f"{self.client} · {self.name}"

    def clean(self):
        errors = {}
        hosts = [h.strip().lower() for h in self.hosts or []]
        bad = [h for h in hosts if not is_host_name(h)]
        if bad:
            errors["hosts"] = f"Not a host name (lower-case, no port or scheme): {', '.join(bad)}"
        elif len(set(hosts)) != len(hosts):
            errors["hosts"] = "A host name is listed twice."
        else:
            self.hosts = hosts
            taken = ProtectedSite.hosts_taken(hosts, exclude_site_id=self.pk)
            if taken:
                errors["hosts"] = f"Already used by another site: {', '.join(sorted(taken))}"
        self.emails = sorted({e.strip().lower() for e in self.emails or [] if e.strip()})
        self.email_domains = sorted({d.strip().lower().lstrip("@") for d in self.email_domains or [] if d.strip()})
        if self.groups and not self.groups_claim:
            errors["groups_claim"] = "Name the claim that carries the groups."
        if self.not_before and self.not_after and self.not_before >= self.not_after:
            errors["not_after"] = "Access must end after it starts."
        methods = self.signin_methods if isinstance(self.signin_methods, list) else []
        if not methods or not set(methods) <= set(SIGNIN_METHODS):
            errors["signin_methods"] = "Choose the identity provider, an e-mail code, or both."
        else:
            self.signin_methods = [m for m in SIGNIN_METHODS if m in methods]
            errors.update(self._signin_errors())
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # The site row and its SiteHost rows commit together: a host another
        # site took after our clean() ran fails here, on the unique index,
        # and nothing of this save is kept.
        # The assertion key is part of the row it signs for: made in the same
        # save that first asks for an assertion, never by a later step.
        if self.assertion_key_ensure() and kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "assertion_key_encrypted", "assertion_kid"}
        update_fields = kwargs.get("update_fields")
        with transaction.atomic():
            super().save(*args, **kwargs)
            if update_fields is None or {"hosts", "distribution_domain"} & set(update_fields):
                self.site_hosts_sync()

    def _signin_errors(self) -> dict:
        """What the chosen sign-in methods lack, by field (the edge would refuse the config)."""
        errors = {}
        if "idp" in self.signin_methods and self.provider_id is None:
            errors["provider"] = (
                "Signing in at the identity provider needs a provider: choose one, or let viewers sign in "
                "with an e-mail code only."
            )
        if "email_code" in self.signin_methods:
            if not (self.emails or self.email_domains):
                errors["emails"] = (
                    "E-mail codes go to the allowed emails and domains only: list at least one "
                    "(“anyone who signs in” does not apply to them)."
                )
            if not settings.GATEHOUSE_SES_SENDER:
                errors["signin_methods"] = (
                    "E-mail codes need a sender: set GATEHOUSE_SES_SENDER (a verified SES identity)."
                )
        return errors

    @property
    def signs_in_with_idp(self) -> bool:
        return "idp" in (self.signin_methods or ["idp"])

    @property
    def signs_in_with_email_code(self) -> bool:
        return "email_code" in (self.signin_methods or [])

    def site_hosts_sync(self) -> None:
        """Make the SiteHost rows match config_hosts (call inside a transaction).

        Raises ValidationError on `hosts` when another site holds one of them.
        """
        wanted = set(self.config_hosts)
        held = set(SiteHost.objects.filter(site_id=self.pk).values_list("host", flat=True))
        if held - wanted:
            SiteHost.objects.filter(site_id=self.pk, host__in=held - wanted).delete()
        if not wanted - held:
            return
        try:
            with transaction.atomic():
                SiteHost.objects.bulk_create([SiteHost(site_id=self.pk, host=h) for h in sorted(wanted - held)])
        except IntegrityError:
            taken = ProtectedSite.hosts_taken(wanted - held, exclude_site_id=self.pk)
            raise ValidationError(
                {"hosts": f"Already used by another site: {', '.join(sorted(taken)) or 'one of these names'}"}
            ) from None

    @classmethod
    def hosts_taken(cls, hosts, *, exclude_site_id=None) -> set[str]:
        """Which of `hosts` another site publishes a config under: one indexed query."""
        hosts = {h.lower() for h in hosts}
        if not hosts:
            return set()
        rows = SiteHost.objects.filter(host__in=hosts)
        if exclude_site_id is not None:
            rows = rows.exclude(site_id=exclude_site_id)
        return set(rows.values_list("host", flat=True))

    @property
    def config_hosts(self) -> list[str]:
        """The names the config is published under: custom ones, then CloudFront's."""
        hosts = [h.lower() for h in self.hosts or []]
        if self.distribution_domain and self.distribution_domain.lower() not in hosts:
            hosts.append(self.distribution_domain.lower())
        return hosts

    @property
    def schema_version(self) -> int:
        return self.edge_release.schema_version if self.edge_release_id else CURRENT_SCHEMA_VERSION

    def public_origin(self, host: str) -> str:
        return origin_for(host, edge_public_origin())

    def callback_url(self, host: str | None = None) -> str:
        """What staff register at the provider as the redirect (callback) URL."""
        return self.public_origin(host or self.primary_host) + CALLBACK_PATH

    def sign_out_url(self, host: str | None = None) -> str:
        return self.public_origin(host or self.primary_host) + SIGN_OUT_PATH

    def signed_out_url(self, host: str | None = None) -> str:
        """What staff register at the provider as the post-logout redirect URL."""
        return self.public_origin(host or self.primary_host) + SIGNED_OUT_PATH

    @property
    def primary_host(self) -> str:
        hosts = self.config_hosts
        return hosts[0] if hosts else ""

    def live_seq_issue(self) -> int:
        """The next "made live" number of this site (call inside a transaction)."""
        ProtectedSite.objects.filter(pk=self.pk).update(live_seq_issued=models.F("live_seq_issued") + 1)
        self.live_seq_issued = ProtectedSite.objects.filter(pk=self.pk).values_list("live_seq_issued", flat=True).get()
        return self.live_seq_issued

    @property
    def assertion_key(self) -> str:
        """The identity assertion's P-256 private key (base64url of 32 bytes), or ""."""
        return secret_decrypt(self.assertion_key_encrypted) if self.assertion_key_encrypted else ""

    def assertion_key_ensure(self) -> bool:
        """Make the site's assertion signing key if it needs one and has none; whether it made one."""
        if not self.assertion_path_prefixes or self.assertion_key_encrypted:
            return False
        order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        while True:
            raw = pysecrets.token_bytes(32)
            if 0 < int.from_bytes(raw, "big") < order:
                break
        self.assertion_key_encrypted = secret_encrypt(urlsafe_b64encode(raw).rstrip(b"=").decode())
        self.assertion_kid = "ia" + pysecrets.token_hex(4)
        return True

    def current_session_key(self) -> "SessionKey | None":
        return self.session_keys.filter(retired_at=None).order_by("-created_at", "-pk").first()


class SiteHost(models.Model):
    """One host name a site publishes its config under (custom names and
    CloudFront's domain): the unique index makes a name belong to one site."""

    host = models.CharField(max_length=253, unique=True)
    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="host_rows")

    def __str__(self):
        return self.host


class SessionKey(models.Model):
    """A site's session-signing key. Rotate adds one; revoke retires all others."""

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="session_keys")
    kid = models.CharField(max_length=32)
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["site", "kid"], name="sessionkey_unique_kid_per_site")]
        indexes = [models.Index(fields=["site", "retired_at"])]

    def __str__(self):
        return f"{self.site.slug}/{self.kid}"

    @property
    def secret(self) -> str:
        return secret_decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = secret_encrypt(value)

    @classmethod
    def generate(cls, site: ProtectedSite) -> "SessionKey":
        key = cls(site=site, kid="k" + pysecrets.token_hex(4))
        key.secret = urlsafe_b64encode(pysecrets.token_bytes(32)).rstrip(b"=").decode()
        return key


class Build(models.Model):
    class Status(models.TextChoices):
        STAGED = "staged"
        UPLOADING = "uploading"
        READY = "ready"
        FAILED = "failed"

    class Source(models.TextChoices):
        ZIP = "zip"
        MANIFEST = "manifest"

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="builds")
    # What staff call the build: 1, 2, 3 within its site. The primary key
    # (in the config id and the bucket prefix) counts across all sites.
    number = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Name in default storage of the uploaded zip, until it is in the bucket.
    staged_name = models.CharField(max_length=255, blank=True)
    archive_sha256 = models.CharField(max_length=64, blank=True)
    file_count = models.PositiveIntegerField(default=0)
    total_bytes = models.PositiveBigIntegerField(default=0)
    prefix = models.CharField(max_length=200, blank=True, help_text="Key prefix in the site bucket, e.g. builds/7.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STAGED)
    message = models.TextField(blank=True)
    # The site's "made live" number taken when the upload started
    # (ProtectedSite.live_seq): an older upload finishing last stays unserved.
    live_seq = models.PositiveBigIntegerField(default=0, editable=False)
    # Where the files came from: a zip, or a manifest of files sent through
    # the API (only those the site's content store lacked).
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.ZIP)
    # A manifest build's files: [{"path", "size", "sha256"}], checked (sites.archives.manifest_entries).
    manifest = models.JSONField(default=_list, blank=True, editable=False)
    # What the person or CI said about it (gatehouse deploy --message/--commit).
    deploy_message = models.CharField(max_length=500, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    # Of a manifest build: the files and bytes the client had to send.
    files_sent = models.PositiveIntegerField(default=0)
    bytes_sent = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["site", "-created_at"])]
        constraints = [models.UniqueConstraint(fields=["site", "number"], name="build_unique_number_per_site")]

    def __str__(self):
        return f"{self.site.slug} build {self.number or self.pk}"

    def save(self, *args, **kwargs):
        if self._state.adding and not self.number:
            with transaction.atomic():
                # Lock the site row so two uploads to one site never share a number.
                ProtectedSite.objects.select_for_update().filter(pk=self.site_id).values_list("pk").first()
                last = Build.objects.filter(site_id=self.site_id).aggregate(n=models.Max("number"))["n"] or 0
                self.number = last + 1
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)

    @property
    def config_id(self) -> str:
        return f"b{self.pk}"


class Deployment(models.Model):
    class Kind(models.TextChoices):
        PROVISION = "provision"
        CONFIG = "config"
        REDEPLOY = "redeploy"
        BUILD = "build"
        EDGE_RELEASE = "edge_release", "Edge release rollout"
        TEARDOWN = "teardown"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    site = models.ForeignKey(ProtectedSite, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments")
    # Kept so a deployment still says which site it was after a teardown.
    site_slug = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    edge_release = models.ForeignKey(EdgeRelease, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments")
    build = models.ForeignKey(Build, null=True, blank=True, on_delete=models.SET_NULL, related_name="deployments")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set each time a worker takes the deployment up: one that stays unfinished
    # with an old heartbeat lost its worker (or its message) and is resumed by
    # deployments_sweep.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The run that holds the deployment, claimed by a conditional UPDATE
    # (engine._begin) and let go when the run ends: two deliveries never run
    # its steps side by side. A lease a dead worker left lapses at lease_until.
    lease_owner = models.CharField(max_length=100, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # The chain (sites.context) of the action that started it: every run
    # records its Activity rows in it, in the worker and after a sweep's resume.
    chain_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["site", "-created_at"]),
            models.Index(fields=["status", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.site_slug or 'all sites'} ({self.status})"

    def save(self, *args, **kwargs):
        if self.site_id and not self.site_slug:
            self.site_slug = self.site.slug
        super().save(*args, **kwargs)


class DeploymentStep(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=100)
    ordering = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True, help_text="For a person: what happened, or what went wrong.")

    class Meta:
        ordering = ["deployment", "ordering", "pk"]
        constraints = [models.UniqueConstraint(fields=["deployment", "name"], name="deploymentstep_unique_name")]

    def __str__(self):
        return f"{self.name} ({self.status})"


class RevisionImmutable(Exception):
    pass


class ConfigRevision(models.Model):
    """One rendered config of a site, secrets replaced by fingerprints.

    Content is written once; only the upload bookkeeping changes afterwards.
    """

    class UploadStatus(models.TextChoices):
        PENDING = "pending"
        UPLOADING = "uploading"
        UPLOADED = "uploaded"
        FAILED = "failed"
        SUPERSEDED = "superseded"

    MUTABLE_FIELDS = frozenset(
        {"upload_status", "upload_started_at", "uploaded_at", "uploaded_sha256", "s3_version_ids", "attempts", "last_error"}
    )

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    schema_version = models.PositiveSmallIntegerField()
    content = models.TextField(help_text="Canonical JSON, secrets as fingerprints.")
    sha256 = models.CharField(max_length=64)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=200, blank=True)

    upload_status = models.CharField(max_length=16, choices=UploadStatus.choices, default=UploadStatus.PENDING)
    upload_started_at = models.DateTimeField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    uploaded_sha256 = models.CharField(max_length=64, blank=True)
    # One config object per host, each with its own S3 version.
    s3_version_ids = models.JSONField(default=_dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["site", "-number"]
        constraints = [models.UniqueConstraint(fields=["site", "number"], name="configrevision_unique_number")]
        indexes = [
            models.Index(fields=["upload_status", "created_at"]),
            models.Index(fields=["site", "-created_at"]),
        ]

    def __str__(self):
        return f"{self.site_id}#{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.MUTABLE_FIELDS:
                raise RevisionImmutable("a config revision's content cannot change; make a new revision")
        super().save(*args, **kwargs)

    @property
    def document(self) -> dict:
        return json.loads(self.content)

    @property
    def hosts(self) -> list[str]:
        return self.document["site"]["hosts"]

    @property
    def actor_name(self) -> str:
        return self.created_by.get_username() if self.created_by_id else "system"


class Activity(models.Model):
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    site = models.ForeignKey(ProtectedSite, null=True, blank=True, on_delete=models.SET_NULL, related_name="activity")
    site_slug = models.CharField(max_length=64, blank=True)
    verb = models.CharField(max_length=64)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)
    # The action this row is part of (sites.context.chain): the Activity page
    # folds a chain's rows on one site into one item. Blank on rows older
    # than the field: each is an item of its own.
    chain_id = models.CharField(max_length=32, blank=True, default="", db_index=True)
    # The API token the actor acted through, if any: "ada's token 'CI'".
    token = models.ForeignKey("ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "activity"
        indexes = [
            models.Index(fields=["-at"]),
            models.Index(fields=["site", "-at"]),
            models.Index(fields=["actor", "-at"]),
        ]

    def __str__(self):
        return f"{self.who} {self.verb} {self.site_slug}"

    @property
    def who(self) -> str:
        """"ada", "ada's token 'CI'", or "system"."""
        if not self.actor_id:
            return "system"
        name = self.actor.get_username()
        return f"{name}'s token '{self.token.name}'" if self.token_id else name

    @classmethod
    def record(cls, *, verb: str, site: ProtectedSite | None = None, actor=None, detail: str = "") -> "Activity":
        return cls.objects.create(
            # Outside any chain (the shell, a command), a row is an action of its own.
            chain_id=current_chain() or uuid.uuid4().hex,
            verb=verb,
            site=site,
            site_slug=site.slug if site else "",
            actor=actor if actor is not None and actor.is_authenticated else None,
            # Inside an API request, the token it came with (sites.context.current_token).
            token_id=current_token_id(),
            detail=detail,
        )



class StaffIdentity(models.Model):
    """A staff account's identity at the company's OpenID Connect provider.

    Sign-in matches on (issuer, subject), never on the e-mail address: an
    address can change hands or be claimed unverified, and a local password
    account with the same address is never taken over by it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_identity")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="staff_identity_issuer_subject")]

    def __str__(self):
        return f"{self.user} at {self.issuer}"


class Rollout(models.Model):
    """An edge release rolled out to every site: one row, its sites in RolloutSite.

    The request only records it; the worker moves its sites in batches
    (provisioning.rollout), and rollouts_sweep marks each one done when
    CloudFront says `Deployed`.
    """

    class Status(models.TextChoices):
        RUNNING = "running"  # sites still being moved
        APPLYING = "applying"  # every update sent; CloudFront deploying
        DONE = "done"

    release = models.ForeignKey(EdgeRelease, on_delete=models.CASCADE, related_name="rollouts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    sites_listed = models.BooleanField(default=False, editable=False)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    chain_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"roll-out of {self.release.version} ({self.status})"

    def counts(self) -> dict[str, int]:
        """Sites by state, one query: {"pending": n, ..., "total": n}."""
        rows = dict(self.site_rows.values_list("state").annotate(n=models.Count("pk")).values_list("state", "n"))
        counts = {state: rows.get(state, 0) for state in RolloutSite.State.values}
        counts["total"] = sum(rows.values())
        return counts


class RolloutSite(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        UPDATING = "updating"  # claimed by a batch
        UPDATED = "updated"  # CloudFront took the update; deploying
        DEPLOYED = "deployed"
        FAILED = "failed"

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="site_rows")
    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    updated_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["rollout", "site"], name="rolloutsite_one_per_site")]
        indexes = [models.Index(fields=["state", "checked_at"]), models.Index(fields=["rollout", "state"])]


class DistributionSnapshot(models.Model):
    """The config CloudFront last answered with for a site's distribution, and its ETag.

    The next update writes over it without reading first (the `known` of
    aws.distribution_update): CloudFront refuses a stale ETag, and the
    refusal falls back to a read, so a change made elsewhere is never lost.
    A cache of CloudFront's own state, holding nothing secret.
    """

    site = models.OneToOneField(ProtectedSite, on_delete=models.CASCADE, primary_key=True, related_name="distribution_snapshot")
    distribution_id = models.CharField(max_length=32)
    etag = models.CharField(max_length=64)
    config = models.JSONField()
    recorded_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.distribution_id} at {self.etag}"


class Visit(models.Model):
    """One line the edge wrote about a viewer (edge_runtime/visits.py), collected from CloudWatch Logs."""

    class Kind(models.TextChoices):
        SIGNED_IN = "signed_in", "signed in"
        SESSION_START = "session_start", "opened the demo"
        REFUSED = "refused", "refused"

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="visits")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    host = models.CharField(max_length=253, blank=True)
    method = models.CharField(max_length=32, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=320, blank=True)
    # The edge's words, rule by rule (presenters.refusal_sentence makes them readable).
    reasons = models.JSONField(default=_list, blank=True)
    # Where the refusal happened: "callback" (just signed in) or "session".
    stage = models.CharField(max_length=16, blank=True)
    region = models.CharField(max_length=32, blank=True)
    # A digest of (region, group, stream, event id): the same line read twice is one row.
    event_key = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            models.Index(fields=["site", "-occurred_at"]),
            models.Index(fields=["site", "kind", "email"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self):
        return f"{self.site_id} {self.kind} {self.email or self.subject} {self.occurred_at:%Y-%m-%d %H:%M}"


class VisitCursor(models.Model):
    """How far the collector has read one edge function's log group in one region."""

    function_name = models.CharField(max_length=64)
    region = models.CharField(max_length=32)
    # The newest event time read (ms since the epoch); the next read starts a little before it.
    last_timestamp_ms = models.BigIntegerField(default=0)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["function_name", "region"], name="visit_cursor_function_region")]

    def __str__(self):
        return f"{self.function_name} in {self.region}"


class Invitation(models.Model):
    """A client address staff invited to a site: on its allowed e-mails, sent a message through SES."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="invitations")
    email = models.CharField(max_length=320)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    message_id = models.CharField(max_length=128, blank=True)
    # The invitee's first sign-in or session seen in the visits: the claim
    # that sends the "first visit" webhook event once.
    first_visit_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["email"]
        constraints = [models.UniqueConstraint(fields=["site", "email"], name="invitation_site_email")]

    def __str__(self):
        return f"{self.email} to {self.site_id}"


class AccessReminder(models.Model):
    """The e-mail to staff that a site's access ends soon: one per site per end date."""

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="access_reminders")
    not_after = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The claim of the "access ending soon" webhook event: once per end date,
    # whether or not the e-mail went (a failed e-mail is tried again).
    event_emitted_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "not_after"], name="access_reminder_site_end")]

    def __str__(self):
        return f"{self.site_id} ends {self.not_after:%Y-%m-%d}"


class SiteBlob(models.Model):
    """One file's content the site's bucket holds under blobs/<sha256>.

    A manifest deploy asks the client only for the content the site lacks;
    identical content across builds is stored (and sent) once per site.
    """

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="blobs")
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "sha256"], name="siteblob_unique_per_site")]

    def __str__(self):
        return f"{self.site_id}/{self.sha256[:12]}"

    @property
    def key(self) -> str:
        return blob_key(self.sha256)


def blob_key(sha256: str) -> str:
    return f"blobs/{sha256}"


def staging_key(build_id: int, sha256: str) -> str:
    """Where a presigned PUT puts a large file of a build until the worker checks it."""
    return f"staging/{build_id}/{sha256}"


class ApiToken(models.Model):
    """A staff member's personal API token. Only a digest of its secret is kept.

    The token is "gh_<key_id>_<secret>": the key id finds the row, and the
    secret's SHA-256 is compared with hmac.compare_digest.
    """

    class Scope(models.TextChoices):
        READ = "read", "Read-only"
        DEPLOY = "deploy", "Deploy to chosen sites"
        ALL = "all", "Everything my role allows"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_sha256 = models.CharField(max_length=64, editable=False)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.READ)
    sites = models.ManyToManyField(ProtectedSite, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self):
        return f"{self.user}'s token '{self.name}'"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"


class WebhookEndpoint(models.Model):
    """Where the console sends its events: a Standard Webhooks receiver, or a Slack incoming webhook.

    The URL is kept encrypted: a Slack incoming-webhook URL is itself the
    secret, and receivers often put a token in theirs. A standard endpoint's
    signing secret (whsec_<base64>) is encrypted too, since signing needs it
    back; it is shown once, when the endpoint is made.
    """

    class Kind(models.TextChoices):
        STANDARD = "standard", "Standard Webhooks (signed JSON)"
        SLACK = "slack", "Slack incoming webhook"

    class Event(models.TextChoices):
        DEPLOYMENT_STARTED = "deployment.started", "Deployment started"
        DEPLOYMENT_SUCCEEDED = "deployment.succeeded", "Deployment succeeded"
        DEPLOYMENT_FAILED = "deployment.failed", "Deployment failed"
        BUILD_LIVE = "build.live", "Build live"
        ACCESS_ENDING = "access.ending_soon", "Access ending soon"
        INVITEE_FIRST_VISIT = "invitee.first_visit", "First visit by an invitee"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STANDARD)
    url_encrypted = models.TextField(editable=False)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=_list)
    secret_encrypted = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.url_display}"

    @property
    def url(self) -> str:
        return secret_decrypt(self.url_encrypted) if self.url_encrypted else ""

    @url.setter
    def url(self, value: str) -> None:
        self.url_encrypted = secret_encrypt(value)

    @property
    def url_display(self) -> str:
        """A standard endpoint's URL without its query; a Slack URL masked, its secret path hidden."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        if self.kind == self.Kind.SLACK:
            return f"{parts.scheme}://{parts.netloc}/…{parts.path[-4:]}" if len(parts.path) > 12 else f"{parts.scheme}://{parts.netloc}/…"
        return f"{parts.scheme}://{parts.netloc}{parts.path}" + ("?…" if parts.query else "")

    @property
    def secret(self) -> str:
        return secret_decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = secret_encrypt(value) if value else ""

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in (self.events or [])


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint; its attempts are WebhookAttempt rows."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    # The Standard Webhooks message id (webhook-id): the same on every attempt
    # and redelivery, so a receiver can drop a message it already handled.
    message_id = models.CharField(max_length=40, unique=True, editable=False)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField(default=_dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a worker takes it up; a claim older than the lease is a dead worker's.
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_response_code = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self):
        return f"{self.event_type} to endpoint {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One request of a delivery, and what the receiver answered."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"attempt {self.number} of delivery {self.delivery_id}: {self.response_code or self.error}"


class ShareLink(models.Model):
    """A bearer link to a site: `/_gatehouse/link/<public_id>.<secret>`.

    Only the secret's SHA-256 is kept (256 random bits: a fast hash is enough,
    there is nothing to guess); it is also what the published config carries
    for the edge. The whole link is shown once, when it is made.
    """

    site = models.ForeignKey(ProtectedSite, on_delete=models.CASCADE, related_name="share_links")
    label = models.CharField(max_length=100)
    public_id = models.CharField(max_length=12, unique=True, editable=False)
    secret_sha256 = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["site", "revoked_at", "expires_at"])]

    def __str__(self):
        return f"share link '{self.label}' to {self.site_id}"

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "expired" if self.expires_at <= timezone.now() else "active"

    @property
    def is_active(self) -> bool:
        return self.state == "active"
