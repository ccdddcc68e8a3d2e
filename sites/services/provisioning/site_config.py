"""The config step that provisioning and redeploys share: publish, and make sure the upload runs."""

from __future__ import annotations

from ... import enqueue
from ...models import ConfigRevision, Deployment, ProtectedSite
from .. import publishing
from .steps import StepFailed


def _config_step(site: ProtectedSite, deployment: Deployment, reason: str) -> str:
    revision = publishing.config_publish(site_id=site.pk, actor=deployment.started_by, reason=reason)
    if revision is not None:
        return f"revision {revision.number} made; uploading"
    newest = site.revisions.order_by("-number").first()
    if newest is None:
        raise StepFailed("the site has no config revision")
    if newest.upload_status in (ConfigRevision.UploadStatus.PENDING, ConfigRevision.UploadStatus.FAILED):
        ConfigRevision.objects.filter(pk=newest.pk, upload_status=ConfigRevision.UploadStatus.FAILED).update(
            upload_status=ConfigRevision.UploadStatus.PENDING
        )
        enqueue.revision_upload_on_commit(newest.pk)
        return f"revision {newest.number} unchanged; uploading again"
    return f"revision {newest.number} unchanged ({newest.upload_status})"
