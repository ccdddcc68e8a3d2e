from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from . import invitations, views

app_name = "api"

urlpatterns = [
    path("v1/sites/", views.SiteList.as_view(), name="sites"),
    path("v1/sites/<slug:slug>/", views.SiteDetail.as_view(), name="site"),
    path("v1/sites/<slug:slug>/access/", views.SiteAccess.as_view(), name="site_access"),
    path("v1/sites/<slug:slug>/access-window/", views.SiteAccessWindow.as_view(), name="site_access_window"),
    path("v1/sites/<slug:slug>/redeploy/", views.SiteRedeploy.as_view(), name="site_redeploy"),
    path("v1/sites/<slug:slug>/invitations/", views.InvitationList.as_view(), name="invitations"),
    path("v1/sites/<slug:slug>/share-links/", views.ShareLinkList.as_view(), name="share_links"),
    path("v1/sites/<slug:slug>/share-links/<int:link_id>/revoke/", views.ShareLinkRevoke.as_view(), name="share_link_revoke"),
    path("v1/sites/<slug:slug>/builds/", views.BuildList.as_view(), name="builds"),
    path("v1/sites/<slug:slug>/builds/<int:build_number>/", views.BuildDetail.as_view(), name="build"),
    path("v1/sites/<slug:slug>/builds/<int:build_number>/make-live/", views.BuildMakeLive.as_view(), name="build_make_live"),
    path("v1/sites/<slug:slug>/deploys/", views.DeployCreate.as_view(), name="deploys"),
    path("v1/sites/<slug:slug>/deploys/<int:build_number>/files/<str:sha256>/", views.DeployFile.as_view(), name="deploy_file"),
    path("v1/sites/<slug:slug>/deploys/<int:build_number>/finalise/", views.DeployFinalise.as_view(), name="deploy_finalise"),
    path("v1/sites/<slug:slug>/deployments/", views.DeploymentList.as_view(), name="deployments"),
    path("v1/deployments/<int:deployment_id>/", views.DeploymentDetail.as_view(), name="deployment"),
    path("v1/sites/<slug:slug>/invitations/<str:email>/", invitations.InvitationDetail.as_view(), name="invitation"),
    path(
        "v1/sites/<slug:slug>/invitations/<str:email>/resend/", invitations.InvitationResend.as_view(), name="invitation_resend"
    ),
    path("v1/releases/", views.ReleaseList.as_view(), name="releases"),
    path("v1/releases/<int:pk>/", views.ReleaseDetail.as_view(), name="release"),
    # The OpenAPI schema, public (it says what the API takes, nothing about this console's data).
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
]
