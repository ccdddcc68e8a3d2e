from django.urls import path

from .views import history, lists, onboard, people, releases, share_links, site, tokens

app_name = "sites"

urlpatterns = [
    path("", lists.dashboard, name="dashboard"),
    path("activity/", lists.activity, name="activity"),
    path("onboard/", onboard.onboard, name="onboard"),
    path("providers/check/", onboard.provider_check_view, name="provider_check"),
    path("sites/<slug:slug>/", site.site_detail, name="site"),
    path("sites/<slug:slug>/deployments/", site.site_deployments, name="site_deployments"),
    path("sites/<slug:slug>/edit/", site.site_edit, name="edit"),
    path("sites/<slug:slug>/redeploy/", site.site_redeploy, name="redeploy"),
    path("sites/<slug:slug>/extend/", site.site_extend, name="extend"),
    path("sites/<slug:slug>/sign-everyone-out/", site.site_sign_everyone_out, name="sign_everyone_out"),
    path("sites/<slug:slug>/disable/", site.site_disable, name="disable"),
    path("sites/<slug:slug>/enable/", site.site_enable, name="enable"),
    path("sites/<slug:slug>/move-release/", site.site_move_release, name="move_release"),
    path("sites/<slug:slug>/delete/", site.site_delete, name="delete"),
    path("sites/<slug:slug>/builds/", site.site_builds, name="builds"),
    path("sites/<slug:slug>/builds/upload/", site.site_build_upload, name="build_upload"),
    path("sites/<slug:slug>/builds/<int:build_id>/make-live/", site.build_make_live, name="build_make_live"),
    path("sites/<slug:slug>/visits.csv", people.site_visits_csv, name="visits_csv"),
    path("sites/<slug:slug>/invitations/", people.invitations_add, name="invitations_add"),
    path("sites/<slug:slug>/invitations/<int:invitation_id>/resend/", people.invitation_resend, name="invitation_resend"),
    path("sites/<slug:slug>/invitations/<int:invitation_id>/remove/", people.invitation_remove, name="invitation_remove"),
    path("sites/<slug:slug>/share-links/", share_links.share_link_add, name="share_link_add"),
    path("sites/<slug:slug>/share-links/<int:link_id>/revoke/", share_links.share_link_revoke_view, name="share_link_revoke"),
    path("sites/<slug:slug>/history/", history.site_history, name="history"),
    path("sites/<slug:slug>/history/<int:number>/restore/", history.revision_restore_view, name="revision_restore"),
    path(
        "sites/<slug:slug>/history/<int:number>/restore/confirm/",
        history.revision_restore_confirm,
        name="revision_restore_confirm",
    ),
    path("tokens/", tokens.tokens, name="tokens"),
    path("tokens/revoke/", tokens.token_revoke_view, name="token_revoke"),
    path("releases/", releases.releases, name="releases"),
    path("releases/publish/", releases.release_publish, name="release_publish"),
    path("releases/<int:pk>/", releases.release_detail, name="release"),
    path("releases/<int:pk>/progress/", releases.release_progress, name="release_progress"),
    path("releases/<int:pk>/roll-out/", releases.release_rollout, name="release_rollout"),
]
