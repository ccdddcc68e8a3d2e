"""The API's views: each names the action of each method (sites.roles.ACTIONS) and calls one service.

Input that a page takes goes through that page's form, so the API refuses
exactly what the page refuses, with the same words (and the edge's own
validator behind the settings forms).
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import parsers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..context import change_context, token_context, token_set
from ..forms import NEW_PROVIDER, BuildUploadForm, InviteForm, OnboardForm, ShareLinkForm, SiteEditForm
from ..models import Build, Deployment, EdgeRelease, Invitation, ShareLink
from ..services import invitations, provisioning, site_actions
from ..services.share_links import share_link_create, share_link_revoke
from ..services.sites import site_onboard
from ..views.base import site_or_404
from . import serializers as s
from .errors import ApiError
from .pagination import MAX_LIMIT, PAGE_PARAMETERS, Pages, limit_parameter, whole_number

ERRORS = {code: OpenApiResponse(s.ErrorSerializer) for code in (400, 401, 403, 404)}


class ApiView(APIView):
    actions: dict[str, str] = {}
    # JSON in unless a view says otherwise (a build upload is multipart); anything else is 415.
    parser_classes = [parsers.JSONParser]
    # No OPTIONS metadata: a method an operation does not document is 405, as the schema says.
    metadata_class = None

    def dispatch(self, request, *args, **kwargs):
        # The token the authentication sets is this request's alone: whatever
        # happens inside, the thread's next request starts without it.
        with token_context(None):
            return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        token_set(None)  # the token named this request's Activity rows, and no other's
        return super().finalize_response(request, response, *args, **kwargs)

    def input(self, serializer_class, *, partial=False) -> dict:
        serializer = serializer_class(data=request_data(self.request), partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def request_data(request):
    data = request.data
    if not hasattr(data, "keys"):
        raise ApiError("Send a JSON object.", code="malformed_request")
    if hasattr(data, "getlist"):  # a form post: one value a field, lists as several values
        return {key: (data.getlist(key) if len(data.getlist(key)) > 1 else data.get(key)) for key in data.keys()}
    return data


def form_data(values: dict, fields: dict | None = None) -> dict:
    """JSON values as the form posts them: lists one a line (or as several values, for the
    fields the page shows as checkboxes), booleans as a ticked box or nothing."""
    out = {}
    for key, value in values.items():
        field = (fields or {}).get(key)
        if isinstance(value, bool):
            if value:
                out[key] = "on"
        elif isinstance(value, list) and field is not None and getattr(field.widget, "allow_multiple_selected", False):
            out[key] = [str(v) for v in value]
        elif isinstance(value, list):
            out[key] = "\n".join(str(v) for v in value)
        elif value is None:
            out[key] = ""
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = str(value)
    return out


# Form field names the API calls otherwise.
FORM_TO_API = {"provider_choice": "provider", "signin_choice": "signin_methods", "__all__": "non_field_errors"}


def form_refused(form, code: str = "validation_failed") -> ApiError:
    fields = {FORM_TO_API.get(name, name): [str(m) for m in errors] for name, errors in form.errors.items()}
    name, messages = next(iter(fields.items()))
    where = "" if name == "non_field_errors" else f"{name}: "
    return ApiError(f"{where}{messages[0]}", code=code, fields=fields)


def deployment_answer(deployment: Deployment) -> dict:
    deployment = (
        Deployment.objects.select_related("build", "started_by").prefetch_related("steps").get(pk=deployment.pk)
    )
    return s.DeploymentSerializer(deployment).data


# --- sites --------------------------------------------------------------------------------------


class SiteList(ApiView):
    actions = {"GET": "view", "POST": "onboard"}
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser]

    @extend_schema(
        operation_id="sites_list",
        parameters=[
            OpenApiParameter("search", str, description="In client, name, id and host names."),
            OpenApiParameter("status", str, description="draft, provisioning, live, failed, deleting, expired, expiring, disabled."),
            *PAGE_PARAMETERS,
        ],
        responses={200: s.paginated(s.SiteListSerializer), **ERRORS},
    )
    def get(self, request):
        sites = selectors.site_list(search=request.query_params.get("search", ""), status=request.query_params.get("status", ""))
        paginator = Pages()
        page = selectors.sites_last_deployment(paginator.paginate_queryset(sites, request, view=self))
        return paginator.get_paginated_response(s.SiteListSerializer(page, many=True).data)

    @extend_schema(
        operation_id="sites_create",
        request={"application/json": s.SiteCreateSerializer, "multipart/form-data": s.SiteCreateUploadSerializer},
        responses={201: s.SiteSerializer, **ERRORS},
    )
    def post(self, request):
        values = dict(self.input(s.SiteCreateSerializer))
        values["signin_choice"] = values.pop("signin_methods", "idp")
        provider = values.pop("provider", None)
        if provider is None and values["signin_choice"] != "email_code":
            raise ApiError("Signing in at the identity provider needs a provider.", code="validation_failed",
                           fields={"provider": ["Required unless signin_methods is email_code."]})
        values["provider_choice"] = provider if provider is not None else NEW_PROVIDER
        build = request.FILES.get("build")
        blank = OnboardForm()
        data = form_data(values, blank.fields)
        # What the page's inputs hold before anyone types (the provider section's defaults).
        for name, field in blank.fields.items():
            if name not in data and field.initial is not None and not isinstance(field, forms.BooleanField):
                data.update(form_data({name: field.initial}, blank.fields))
        form = OnboardForm(data, {"build": build} if build else None)
        form.build_required = False
        valid = form.is_valid()
        if not valid or not form.check_provider():
            raise form_refused(form)
        form.stage_upload()
        try:
            site = site_onboard(actor=request.user, provider=form.provider, staged_name=getattr(form, "staged_name", None), **form.site_fields())
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code="validation_failed", fields=getattr(exc, "message_dict", None)) from exc
        return Response(s.SiteSerializer(site_or_404(site.slug)).data, status=status.HTTP_201_CREATED)


class SiteDetail(ApiView):
    actions = {"GET": "view"}

    @extend_schema(operation_id="sites_retrieve", responses={200: s.SiteSerializer, **ERRORS})
    def get(self, request, slug):
        return Response(s.SiteSerializer(site_or_404(slug)).data)


class _SettingsView(ApiView):
    """A part of the "Edit settings" page: the fields a PATCH names change, the rest stay as they are."""

    actions = {"GET": "view", "PATCH": "edit"}
    serializer_class: type
    default_reason = "settings changed"

    def get(self, request, slug):
        site = site_or_404(slug)
        return Response({name: getattr(site, name) for name in self.serializer_class().fields if name != "reason" and hasattr(site, name)})

    def patch(self, request, slug):
        site = site_or_404(slug)
        values = dict(self.input(self.serializer_class, partial=True))
        reason = values.pop("reason", "") or self.default_reason
        # What the page would post unchanged, then the fields this PATCH names.
        current = SiteEditForm(site=site)
        data = form_data({name: current.initial.get(name) for name in current.fields if name != "reason"}, current.fields)
        for name, value in values.items():
            if value is False:
                data.pop(name, None)  # an unticked box is sent as nothing
            else:
                data.update(form_data({name: value}, current.fields))
        form = SiteEditForm(data, site=site)
        if not form.is_valid():
            raise form_refused(form)
        try:
            with change_context(actor=request.user, reason=reason):
                changed = site_actions.site_settings_update(site=site, actor=request.user, reason=reason, **form.settings_fields())
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code="validation_failed", fields=getattr(exc, "message_dict", None)) from exc
        return Response({"changed": changed, "site": s.SiteSerializer(site_or_404(slug)).data})


class SiteAccess(_SettingsView):
    serializer_class = s.AccessSerializer
    default_reason = "access rules changed"

    @extend_schema(operation_id="sites_access_retrieve", responses={200: s.AccessSerializer, **ERRORS})
    def get(self, request, slug):
        return super().get(request, slug)

    @extend_schema(operation_id="sites_access_update", request=s.AccessSerializer, responses={200: s.AccessAnswer, **ERRORS})
    def patch(self, request, slug):
        return super().patch(request, slug)


class SiteAccessWindow(_SettingsView):
    serializer_class = s.AccessWindowSerializer
    default_reason = "access window changed"

    @extend_schema(operation_id="sites_access_window_retrieve", responses={200: s.AccessWindowSerializer, **ERRORS})
    def get(self, request, slug):
        site = site_or_404(slug)
        return Response({"not_before": site.not_before, "not_after": site.not_after})

    @extend_schema(operation_id="sites_access_window_update", request=s.AccessWindowSerializer, responses={200: s.AccessAnswer, **ERRORS})
    def patch(self, request, slug):
        return super().patch(request, slug)


class SiteRedeploy(ApiView):
    actions = {"POST": "redeploy"}

    @extend_schema(operation_id="sites_redeploy", request=None, responses={202: s.DeploymentSerializer, **ERRORS})
    def post(self, request, slug):
        site = site_or_404(slug)
        with change_context(actor=request.user, reason="redeployed through the API"):
            deployment = provisioning.site_redeploy_start(site=site, actor=request.user)
        return Response(deployment_answer(deployment), status=status.HTTP_202_ACCEPTED)


# --- invitations --------------------------------------------------------------------------------


class InvitationList(ApiView):
    """The site page's People card: each address joins the allowed e-mails and is sent an invitation."""

    actions = {"GET": "view", "POST": "invite"}

    @extend_schema(operation_id="invitations_list", responses={200: s.InvitationSerializer(many=True), **ERRORS})
    def get(self, request, slug):
        site = site_or_404(slug, related=())
        rows = Invitation.objects.filter(site=site).select_related("invited_by")
        return Response(s.InvitationSerializer(rows, many=True).data)

    @extend_schema(operation_id="invitations_create", request=s.InviteSerializer, responses={201: s.InviteAnswer, **ERRORS})
    def post(self, request, slug):
        site = site_or_404(slug)
        values = self.input(s.InviteSerializer)
        form = InviteForm(form_data({"emails": values["emails"]}))
        if not form.is_valid():
            raise form_refused(form)
        try:
            added = invitations.invitations_add(site=site, emails=form.cleaned_data["emails"], actor=request.user)
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code="validation_failed", fields=getattr(exc, "message_dict", None)) from exc
        rows = Invitation.objects.filter(pk__in=[i.pk for i in added]).select_related("invited_by")
        return Response({"invitations": s.InvitationSerializer(rows, many=True).data}, status=status.HTTP_201_CREATED)


# --- share links -------------------------------------------------------------------------------


class ShareLinkList(ApiView):
    actions = {"GET": "view", "POST": "share_link"}

    @extend_schema(operation_id="share_links_list", responses={200: s.ShareLinkSerializer(many=True), **ERRORS})
    def get(self, request, slug):
        return Response(s.ShareLinkSerializer(selectors.share_links_for(site_or_404(slug, related=())), many=True).data)

    @extend_schema(
        operation_id="share_links_create", request=s.ShareLinkCreateSerializer,
        responses={201: s.ShareLinkCreated, **ERRORS},
        description="Make a share link. The answer holds the whole link, once: Gatehouse keeps only a hash of its secret.",
    )
    def post(self, request, slug):
        site = site_or_404(slug)
        form = ShareLinkForm(form_data(dict(self.input(s.ShareLinkCreateSerializer))))
        if not form.is_valid():
            raise form_refused(form)
        try:
            link, url = share_link_create(
                site=site, label=form.cleaned_data["label"], expires_at=form.cleaned_data["expires_on"], actor=request.user
            )
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code="validation_failed", fields=getattr(exc, "message_dict", None)) from exc
        link = ShareLink.objects.select_related("created_by").get(pk=link.pk)
        response = Response({"share_link": s.ShareLinkSerializer(link).data, "url": url}, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class ShareLinkRevoke(ApiView):
    actions = {"POST": "share_link"}

    @extend_schema(operation_id="share_links_revoke", request=None, responses={200: s.ShareLinkSerializer, **ERRORS})
    def post(self, request, slug, link_id):
        site = site_or_404(slug, related=())
        link = get_object_or_404(ShareLink.objects.select_related("created_by", "site"), pk=link_id, site=site)
        share_link_revoke(link=link, actor=request.user)  # revoking a revoked link: the outcome stands
        return Response(s.ShareLinkSerializer(link).data)


# --- builds -------------------------------------------------------------------------------------


class BuildList(ApiView):
    actions = {"GET": "view", "POST": "upload_build"}
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(operation_id="builds_list", parameters=PAGE_PARAMETERS, responses={200: s.paginated(s.BuildSerializer), **ERRORS})
    def get(self, request, slug):
        site = site_or_404(slug)
        paginator = Pages()
        page = paginator.paginate_queryset(selectors.builds_for(site), request, view=self)
        return paginator.get_paginated_response(s.BuildSerializer(page, many=True, context={"site": site}).data)

    @extend_schema(
        operation_id="builds_upload", request={"multipart/form-data": s.BuildUploadSerializer},
        responses={202: s.DeploymentSerializer, **ERRORS},
    )
    def post(self, request, slug):
        site = site_or_404(slug)
        form = BuildUploadForm(request.POST, request.FILES)
        valid = form.is_valid()
        if not valid:
            raise form_refused(form, "build_refused")
        form.stage_upload()
        with change_context(actor=request.user, reason="new build uploaded"):
            deployment = provisioning.build_upload_start(site=site, staged_name=form.staged_name, actor=request.user)
        return Response(deployment_answer(deployment), status=status.HTTP_202_ACCEPTED)


def build_or_404(site, number: int) -> Build:
    return get_object_or_404(Build.objects.select_related("created_by"), site=site, number=number)


class BuildDetail(ApiView):
    actions = {"GET": "view"}

    @extend_schema(operation_id="builds_retrieve", responses={200: s.BuildSerializer, **ERRORS})
    def get(self, request, slug, build_number):
        site = site_or_404(slug)
        return Response(s.BuildSerializer(build_or_404(site, build_number), context={"site": site}).data)


class BuildMakeLive(ApiView):
    actions = {"POST": "make_live"}

    @extend_schema(operation_id="builds_make_live", request=None, responses={200: s.BuildSerializer, 409: s.ErrorSerializer, **ERRORS})
    def post(self, request, slug, build_number):
        site = site_or_404(slug)
        build = build_or_404(site, build_number)
        try:
            site_actions.build_make_live(site=site, build=build, actor=request.user)
        except DjangoValidationError as exc:
            raise ApiError(" ".join(exc.messages), code="build_not_ready", status_code=409) from exc
        return Response(s.BuildSerializer(build, context={"site": site_or_404(slug)}).data)


# --- manifest deploys ---------------------------------------------------------------------------


class RawParser(parsers.BaseParser):
    """A file's bytes as they are, at most GATEHOUSE_API_INLINE_MAX_BYTES."""

    media_type = "application/octet-stream"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.GATEHOUSE_API_INLINE_MAX_BYTES
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise ApiError(
                f"Files over {limit} bytes go to the presigned S3 address the deploy answered, not through the API.",
                code="file_too_large", status_code=413,
            )
        return data


def _manifest_refused(exc: provisioning.ManifestRefused) -> ApiError:
    conflict = {"already_finalised", "files_missing", "site_deleting"}
    return ApiError(str(exc), code=exc.code, status_code=409 if exc.code in conflict else 400)


class DeployCreate(ApiView):
    actions = {"POST": "upload_build"}

    @extend_schema(
        operation_id="deploys_create", request=s.ManifestSerializer, responses={201: s.DeployAnswer, **ERRORS},
        description="Start a deploy from a manifest; the answer lists the contents the site lacks and where to send each.",
    )
    def post(self, request, slug):
        site = site_or_404(slug)
        values = self.input(s.ManifestSerializer)
        try:
            with change_context(actor=request.user, reason="deploy started"):
                build, uploads = provisioning.manifest_deploy_create(
                    site=site, files=[dict(f) for f in values["files"]], message=values["message"],
                    commit=values["commit"], actor=request.user,
                )
        except provisioning.ManifestRefused as exc:
            raise _manifest_refused(exc) from exc
        answer = []
        for upload in uploads:
            url = upload.url or request.build_absolute_uri(
                reverse("api:deploy_file", kwargs={"slug": slug, "build_number": build.number, "sha256": upload.sha256})
            )
            answer.append({"sha256": upload.sha256, "size": upload.size, "paths": upload.paths, "method": upload.method, "url": url})
        finalise = request.build_absolute_uri(reverse("api:deploy_finalise", kwargs={"slug": slug, "build_number": build.number}))
        return Response(
            {"build": s.BuildSerializer(build, context={"site": site}).data, "uploads": answer, "finalise_url": finalise},
            status=status.HTTP_201_CREATED,
        )


class DeployFile(ApiView):
    actions = {"PUT": "upload_build"}
    parser_classes = [RawParser]

    @extend_schema(
        operation_id="deploys_file_put", request={"application/octet-stream": {"type": "string", "format": "binary"}},
        responses={204: None, 409: s.ErrorSerializer, 413: s.ErrorSerializer, **ERRORS},
    )
    def put(self, request, slug, build_number, sha256):
        site = site_or_404(slug)
        build = build_or_404(site, build_number)
        data = request.data
        if not isinstance(data, bytes):
            raise ApiError("Send the file's bytes as application/octet-stream.", code="malformed_request")
        try:
            provisioning.manifest_file_receive(build=build, sha256=sha256, data=data)
        except provisioning.ManifestRefused as exc:
            raise _manifest_refused(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeployFinalise(ApiView):
    actions = {"POST": "upload_build"}

    @extend_schema(operation_id="deploys_finalise", request=None, responses={202: s.DeploymentSerializer, 409: s.ErrorSerializer, **ERRORS})
    def post(self, request, slug, build_number):
        site = site_or_404(slug)
        build = build_or_404(site, build_number)
        try:
            with change_context(actor=request.user, reason="new build deployed"):
                deployment = provisioning.manifest_deploy_finalise(build=build, actor=request.user)
        except provisioning.ManifestRefused as exc:
            raise _manifest_refused(exc) from exc
        return Response(deployment_answer(deployment), status=status.HTTP_202_ACCEPTED)


# --- deployments --------------------------------------------------------------------------------


class DeploymentList(ApiView):
    actions = {"GET": "view"}

    @extend_schema(
        operation_id="deployments_list",
        parameters=[limit_parameter("How many, newest first (default 10).")],
        responses={200: s.DeploymentSerializer(many=True), **ERRORS},
    )
    def get(self, request, slug):
        site = site_or_404(slug, related=())
        limit = whole_number(request, "limit", default=10, minimum=1, maximum=MAX_LIMIT)
        return Response(s.DeploymentSerializer(selectors.deployments_for(site=site, limit=limit), many=True).data)


class DeploymentDetail(ApiView):
    actions = {"GET": "view"}

    @extend_schema(operation_id="deployments_retrieve", responses={200: s.DeploymentSerializer, **ERRORS})
    def get(self, request, deployment_id):
        deployment = get_object_or_404(
            Deployment.objects.select_related("build", "started_by").prefetch_related("steps"), pk=deployment_id
        )
        return Response(s.DeploymentSerializer(deployment).data)


# --- edge releases ------------------------------------------------------------------------------


class ReleaseList(ApiView):
    actions = {"GET": "view"}

    @extend_schema(operation_id="releases_list", responses={200: s.EdgeReleaseSerializer(many=True), **ERRORS})
    def get(self, request):
        return Response(s.EdgeReleaseSerializer(selectors.releases_with_counts(), many=True).data)


class ReleaseDetail(ApiView):
    actions = {"GET": "view"}

    @extend_schema(operation_id="releases_retrieve", responses={200: s.EdgeReleaseSerializer, **ERRORS})
    def get(self, request, pk):
        return Response(s.EdgeReleaseSerializer(get_object_or_404(selectors.releases_with_counts(), pk=pk)).data)
