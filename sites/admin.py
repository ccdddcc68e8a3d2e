from functools import partial

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin, messages

from .context import change_context
from .roles import can
from .models import (
    Activity,
    Build,
    ConfigRevision,
    Deployment,
    DeploymentStep,
    EdgeRelease,
    IdentityProvider,
    ProtectedSite,
    SessionKey,
)
from .services.keys import session_key_rotate, session_keys_revoke
from .services.provisioning.teardown import site_teardown_start
from .services.providers import ProviderCheckError, provider_check


class ChangeContextMixin:
    """Admin saves publish configs as the signed-in user, not as "system"."""

    def changeform_view(self, request, *args, **kwargs):
        with change_context(actor=request.user, reason="changed in the admin"):
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        with change_context(actor=request.user, reason="deleted in the admin"):
            return super().delete_view(request, *args, **kwargs)


class RoleAdmin(admin.ModelAdmin):
    """The admin asks the console's roles (sites/roles.py), not Django's per-model permissions.

    Every staff role reads every model; what it may change is the action
    named here, the same one the console's pages need. None: nobody, not even
    a superuser (the change goes through the console's workflows instead).
    """

    add_action: str | None = None
    change_action: str | None = None
    delete_action: str | None = None

    def _can(self, request, action):
        return action is not None and can(request.user, action)

    def has_module_permission(self, request):
        return can(request.user, "view")

    def has_view_permission(self, request, obj=None):
        return can(request.user, "view")

    def has_add_permission(self, request, obj=None):
        return self._can(request, self.add_action)

    def has_change_permission(self, request, obj=None):
        return self._can(request, self.change_action)

    def has_delete_permission(self, request, obj=None):
        return self._can(request, self.delete_action)


class RoleInline:
    """Inlines follow the roles too: every role reads them, nobody edits them here."""

    def has_view_permission(self, request, obj=None):
        return can(request.user, "view")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The admin is open to staff with a role, like the console; a staff account
# with no role yet is shown the admin's own "not authorised" sign-in page.
admin.site.has_permission = lambda request: can(request.user, "view")


class ReadOnlyAdmin(RoleAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class IdentityProviderForm(forms.ModelForm):
    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the current secret.",
    )
    check_now = forms.BooleanField(
        required=False, initial=True, label="Fetch discovery and keys now", help_text="Fills the endpoints and keys."
    )

    class Meta:
        model = IdentityProvider
        fields = "__all__"
        field_classes = {
            name: partial(forms.URLField, assume_scheme="https")
            for name in ("issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "end_session_endpoint", "jwks_uri")
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("authorization_endpoint", "token_endpoint", "issuer"):
            # Absent when the page is read-only (a role that may only view providers).
            if name in self.fields:
                self.fields[name].required = False

    def _post_clean(self):
        # Validation only: no network I/O here (full_clean runs whenever
        # .errors is read). The discovery check is check_provider(), after.
        super()._post_clean()
        if self.errors:
            return
        if self.cleaned_data.get("client_secret"):
            self.instance.client_secret = self.cleaned_data["client_secret"]
        if not self.cleaned_data.get("check_now") and not self.instance.issuer:
            self.add_error("issuer", "Enter the issuer, or let the check fill it from the preset.")

    def check_provider(self) -> bool:
        """Fetch discovery and keys into the instance when asked; a failure goes beside the issuer."""
        if not self.cleaned_data.get("check_now"):
            return True
        try:
            provider_check(self.instance)
        except ProviderCheckError as exc:
            self.add_error("issuer", f"The provider check failed: {exc}")
            return False
        return True

    def is_valid(self) -> bool:
        # The admin's view saves whatever is_valid() passes, with no hook in
        # between: the check runs here as its own step once validation has
        # passed, so a failure is a field error and nothing is saved.
        return super().is_valid() and self.check_provider()


@admin.register(IdentityProvider)
class IdentityProviderAdmin(ChangeContextMixin, RoleAdmin):
    # Providers are admin-only (a provider's secret and endpoints decide who
    # gets into every site on it); onboarding makes a site's first one.
    add_action = change_action = delete_action = "manage_providers"
    form = IdentityProviderForm
    list_display = ("name", "preset", "issuer", "client_id", "keys_fetched_at", "last_check_error")
    list_filter = ("preset",)
    search_fields = ("name", "issuer", "client_id")
    readonly_fields = ("has_client_secret", "keys_fetched_at", "last_check_at", "last_check_error", "jwks", "discovery")


class SessionKeyInline(RoleInline, admin.TabularInline):
    model = SessionKey
    fields = ("kid", "created_at", "retired_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ProtectedSite)
class ProtectedSiteAdmin(ChangeContextMixin, RoleAdmin):
    add_action = "onboard"
    change_action = "edit"
    list_display = ("slug", "client", "name", "status", "distribution_domain", "provider", "edge_release", "not_after")
    list_filter = ("status", "disabled", "provider")
    search_fields = ("slug", "client", "name")
    list_select_related = ("provider", "edge_release")
    # live_build too: builds go live in the order they were made live
    # (live_seq), through an upload or the builds page's make-live, never by
    # picking one here.
    readonly_fields = (
        "status", "bucket_name", "distribution_id", "distribution_domain", "live_build", "created_by", "created_at",
    )
    inlines = [SessionKeyInline]
    actions = ["tear_down", "rotate_session_key", "sign_everyone_out"]

    def get_readonly_fields(self, request, obj=None):
        # What the console gives only admins stays theirs here too.
        fields = list(super().get_readonly_fields(request, obj))
        if not can(request.user, "move_release"):
            fields.append("edge_release")
        if not can(request.user, "disable"):
            fields.append("disabled")
        return fields

    def save_model(self, request, obj, form, change):
        # Only what the form changed: the row was read when this POST arrived,
        # and a workflow may move it on meanwhile (a build going live, a
        # distribution's status); a whole-row save would write those back.
        if change:
            obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            obj.save()

    # Each action is offered only to the roles allowed it (has_<name>_permission).
    def has_teardown_permission(self, request):
        return can(request.user, "delete")

    def has_rotate_session_key_permission(self, request):
        return can(request.user, "rotate_session_key")

    def has_sign_everyone_out_permission(self, request):
        return can(request.user, "sign_everyone_out")

    # A raw delete would drop the row, its keys and revisions while the
    # distribution stays enabled and the config (client secret, session keys)
    # stays in S3: sites are only ever deleted by the teardown workflow.
    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description="Tear down (disable and delete the distribution, bucket and config, then the site)",
        permissions=["teardown"],
    )
    def tear_down(self, request, queryset):
        count = 0
        with change_context(actor=request.user, reason="torn down in the admin"):
            for site in queryset:
                site_teardown_start(site=site, actor=request.user)
                count += 1
        messages.success(request, f"Teardown started for {count} site(s); each is deleted once AWS has let go of it.")

    @admin.action(description="Rotate session key (signed-in viewers stay signed in)", permissions=["rotate_session_key"])
    def rotate_session_key(self, request, queryset):
        with change_context(actor=request.user, reason="session key rotated"):
            for site in queryset:
                session_key_rotate(site=site, actor=request.user)
        messages.success(request, "New session keys made; configs publish in a moment.")

    @admin.action(description="Sign everyone out (revoke all session keys)", permissions=["sign_everyone_out"])
    def sign_everyone_out(self, request, queryset):
        with change_context(actor=request.user, reason="everyone signed out"):
            for site in queryset:
                session_keys_revoke(site=site, actor=request.user)
        messages.success(request, "Old session keys revoked; configs publish in a moment.")


@admin.register(SessionKey)
class SessionKeyAdmin(ReadOnlyAdmin):
    list_display = ("site", "kid", "created_at", "retired_at")
    list_filter = ("retired_at",)
    search_fields = ("site__slug", "kid")
    fields = ("site", "kid", "created_at", "retired_at")


@admin.register(ConfigRevision)
class ConfigRevisionAdmin(ReadOnlyAdmin):
    list_display = ("site", "number", "upload_status", "created_by", "reason", "created_at", "attempts")
    list_filter = ("upload_status",)
    search_fields = ("site__slug", "reason")
    list_select_related = ("site", "created_by")


@admin.register(Build)
class BuildAdmin(ReadOnlyAdmin):
    # Read-only like deployments: a build is made by an upload (the builds
    # page, the API), which gives it its place in the live order and its
    # files; one added, edited or deleted here would have neither, or leave
    # the site naming a build that is gone.
    list_display = ("site", "pk", "status", "file_count", "total_bytes", "created_by", "created_at")
    list_filter = ("status",)
    search_fields = ("site__slug",)
    list_select_related = ("site", "created_by")


class DeploymentStepInline(RoleInline, admin.TabularInline):
    model = DeploymentStep
    fields = ("ordering", "name", "status", "started_at", "finished_at", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyAdmin):
    list_display = ("pk", "site_slug", "kind", "status", "started_by", "created_at", "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("site_slug",)
    list_select_related = ("started_by",)
    inlines = [DeploymentStepInline]


@admin.register(DeploymentStep)
class DeploymentStepAdmin(ReadOnlyAdmin):
    list_display = ("deployment", "ordering", "name", "status", "started_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("deployment",)


@admin.register(EdgeRelease)
class EdgeReleaseAdmin(ReadOnlyAdmin):
    list_display = ("version", "status", "schema_version", "zip_size", "function_name", "version_arn", "published_at")
    list_filter = ("status",)
    search_fields = ("version", "zip_sha256", "version_arn")


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "verb", "site_slug", "detail")
    list_filter = ("verb",)
    search_fields = ("site_slug", "detail", "actor__username")
    list_select_related = ("actor",)


class AdminRoleOnly:
    """Sign-in records: the Admin role reads them and unlocks (deletes an attempt); nobody edits them."""

    def has_module_permission(self, request):
        return can(request.user, "unlock_staff")

    def has_view_permission(self, request, obj=None):
        return can(request.user, "unlock_staff")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return can(request.user, "unlock_staff")


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AdminRoleOnly, axes_admin.AccessAttemptAdmin):
    pass


@admin.register(AccessLog)
class AccessLogAdmin(AdminRoleOnly, axes_admin.AccessLogAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(AdminRoleOnly, axes_admin.AccessFailureLogAdmin):
    def has_delete_permission(self, request, obj=None):
        return False
