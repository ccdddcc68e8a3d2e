"""What the API answers, and the shapes of what it takes (validation itself is the pages' forms')."""

from __future__ import annotations

from rest_framework import serializers

from ..forms.people import MAX_ADDRESSES
from ..models import Build, Deployment, DeploymentStep, EdgeRelease, Invitation, ProtectedSite, ShareLink


class BuildRef(serializers.Serializer):
    number = serializers.IntegerField()
    status = serializers.CharField()


class SiteSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    provider = serializers.CharField(source="provider.name", allow_null=True, default=None)
    edge_release = serializers.CharField(source="edge_release.version", allow_null=True, default=None)
    live_build = serializers.IntegerField(source="live_build.number", allow_null=True, default=None)

    class Meta:
        model = ProtectedSite
        fields = [
            "slug", "client", "name", "status", "disabled", "url", "hosts", "distribution_domain", "provider",
            "edge_release", "live_build", "allow_any_user", "emails", "email_domains", "groups_claim", "groups",
            "public_paths", "spa_mode", "signin_methods", "session_lifetime", "not_before", "not_after", "created_at",
            "updated_at",
        ]

    def get_url(self, site) -> str | None:
        return site.public_origin(site.primary_host) + "/" if site.primary_host else None


class SiteListSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    last_deployment_status = serializers.CharField(allow_null=True, default=None)

    class Meta:
        model = ProtectedSite
        fields = ["slug", "client", "name", "status", "disabled", "url", "not_after", "last_deployment_status"]

    def get_url(self, site) -> str | None:
        return site.public_origin(site.primary_host) + "/" if site.primary_host else None


def _lines():
    return serializers.ListField(child=serializers.CharField(max_length=500), required=False, max_length=500)


class SiteCreateSerializer(serializers.Serializer):
    """The onboarding form's fields; lists as JSON lists. The form validates them (and the edge's validator)."""

    client = serializers.CharField(max_length=100)
    name = serializers.CharField(max_length=100)
    slug = serializers.CharField(max_length=48, required=False, allow_blank=True)
    provider = serializers.IntegerField(
        help_text="The id of an identity provider another site uses; not needed with signin_methods [\"email_code\"].",
        min_value=1, required=False, allow_null=True,
    )
    signin_methods = serializers.ChoiceField(
        choices=["idp", "email_code", "both"], required=False, default="idp",
        help_text="idp: at the identity provider; email_code: a code sent by e-mail, no provider; both: the viewer chooses.",
    )
    edge_release = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    hosts = _lines()
    acm_certificate_arn = serializers.CharField(max_length=256, required=False, allow_blank=True)
    allow_any_user = serializers.BooleanField(required=False, default=False)
    allow_any_google_account = serializers.BooleanField(required=False, default=False)
    emails = _lines()
    email_domains = _lines()
    groups_claim = serializers.CharField(max_length=100, required=False, allow_blank=True)
    groups = _lines()
    session_hours = serializers.IntegerField(required=False, default=8, min_value=1, max_value=100_000)
    not_after = serializers.DateField(required=False, allow_null=True)
    spa_mode = serializers.BooleanField(required=False, default=True)
    public_paths = _lines()


class SiteCreateUploadSerializer(SiteCreateSerializer):
    """The same fields as a form post (a list as the field repeated), and the first build."""

    build = serializers.FileField(required=False, help_text="The built site as a .zip, index.html at its top level.")


class AccessSerializer(serializers.Serializer):
    """Who gets in (a PATCH changes only the fields it names)."""

    allow_any_user = serializers.BooleanField(required=False)
    allow_any_google_account = serializers.BooleanField(required=False)
    emails = _lines()
    email_domains = _lines()
    groups_claim = serializers.CharField(max_length=100, required=False, allow_blank=True)
    groups = _lines()
    public_paths = _lines()
    signin_methods = serializers.ListField(
        child=serializers.ChoiceField(choices=["idp", "email_code"]), required=False, max_length=2,
        help_text="idp: at the identity provider; email_code: a code e-mailed to the allowed emails and domains.",
    )
    reason = serializers.CharField(max_length=150, required=False, allow_blank=True)


class AccessWindowSerializer(serializers.Serializer):
    """When access starts and ends (UTC days: from the start of not_before to the end of not_after; null: no bound)."""

    not_before = serializers.DateField(required=False, allow_null=True)
    not_after = serializers.DateField(required=False, allow_null=True)
    reason = serializers.CharField(max_length=150, required=False, allow_blank=True)


class AccessAnswer(serializers.Serializer):
    changed = serializers.ListField(child=serializers.CharField())
    site = SiteSerializer()


class BuildSerializer(serializers.ModelSerializer):
    live = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)

    class Meta:
        model = Build
        fields = [
            "number", "status", "source", "live", "deploy_message", "commit", "file_count", "total_bytes",
            "files_sent", "bytes_sent", "message", "created_by", "created_at",
        ]

    def get_live(self, build) -> bool:
        site = self.context.get("site") or build.site
        return site.live_build_id == build.pk


class BuildUploadSerializer(serializers.Serializer):
    build = serializers.FileField(help_text="The built site as a .zip, index.html at its top level.")


class StepSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeploymentStep
        fields = ["name", "status", "message", "started_at", "finished_at"]


class DeploymentSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site_slug")
    build = serializers.IntegerField(source="build.number", allow_null=True, default=None)
    started_by = serializers.CharField(source="started_by.username", allow_null=True, default=None)
    steps = StepSerializer(many=True)

    class Meta:
        model = Deployment
        fields = ["id", "site", "kind", "status", "message", "build", "started_by", "created_at", "started_at", "finished_at", "steps"]


class EdgeReleaseSerializer(serializers.ModelSerializer):
    site_count = serializers.IntegerField(default=0)

    class Meta:
        model = EdgeRelease
        fields = ["id", "version", "status", "schema_version", "zip_sha256", "zip_size", "version_arn", "created_at", "published_at", "message", "site_count"]


class ManifestFileSerializer(serializers.Serializer):
    path = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=0)
    sha256 = serializers.RegexField(r"^[0-9a-f]{64}$", max_length=64)


class ManifestSerializer(serializers.Serializer):
    files = ManifestFileSerializer(many=True, allow_empty=False, max_length=100_000)
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    commit = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class UploadSerializer(serializers.Serializer):
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    paths = serializers.ListField(child=serializers.CharField())
    method = serializers.ChoiceField(choices=["api", "s3"], help_text="api: PUT the bytes to `url` with the token; s3: PUT them to `url` as they are.")
    url = serializers.CharField()


class DeployAnswer(serializers.Serializer):
    build = BuildSerializer()
    uploads = UploadSerializer(many=True)
    finalise_url = serializers.CharField()


_PAGES: dict[type, type] = {}


def paginated(item: type) -> type:
    """The shape of a LimitOffsetPagination page of `item`s (one class per item, for the schema's components)."""
    if item not in _PAGES:
        name = item.__name__.removesuffix("Serializer")
        _PAGES[item] = type(
            f"Paginated{name}Serializer",
            (serializers.Serializer,),
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": item(many=True),
                "__module__": __name__,
            },
        )
    return _PAGES[item]


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBody()


class RedeployAnswer(serializers.Serializer):
    deployment = DeploymentSerializer()


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.CharField(source="invited_by.username", allow_null=True, default=None)

    class Meta:
        model = Invitation
        fields = ["email", "status", "invited_by", "created_at", "sent_at", "attempts", "last_error"]


class InviteSerializer(serializers.Serializer):
    """The addresses to allow and invite (the site page's form checks each)."""

    emails = serializers.ListField(child=serializers.CharField(max_length=320), allow_empty=False, max_length=MAX_ADDRESSES)


class InviteAnswer(serializers.Serializer):
    invitations = InvitationSerializer(many=True)


class ShareLinkSerializer(serializers.ModelSerializer):
    """A share link as listed: never its secret (Gatehouse keeps only a hash of it)."""

    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    state = serializers.CharField()

    class Meta:
        model = ShareLink
        fields = ["id", "label", "state", "expires_at", "last_used_at", "created_by", "created_at", "revoked_at"]


class ShareLinkCreateSerializer(serializers.Serializer):
    """The site page's "Make a share link" fields; the page's form validates them."""

    label = serializers.CharField(max_length=100, help_text="Who or what the link is for, e.g. 'board meeting, 12 Dec'.")
    expires_on = serializers.DateField(help_text="The link works until the end of this day, UTC.")


class ShareLinkCreated(serializers.Serializer):
    share_link = ShareLinkSerializer()
    url = serializers.CharField(help_text="The whole link: answered only this once.")
