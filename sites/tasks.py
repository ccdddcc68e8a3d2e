"""Celery tasks: each takes ids, calls a service, and states its retry policy.

Tasks import services, never the other way round: a service that starts
background work names the task in sites.enqueue.
"""

from celery import shared_task, signals
from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.contrib.auth import get_user_model

from . import aws
from .context import CHAIN_HEADER, chain_adopt
from .services import providers as provider_services
from .services import edge_logs, invitations, provisioning, publishing, reminders, staged_uploads, visits, webhook_delivery, webhooks


@signals.task_prerun.connect(dispatch_uid="gatehouse.chain_from_message")
def _chain_from_message(task=None, **kwargs):
    # A task sent through sites.enqueue carries its sender's chain; one without
    # (beat, a sweep) starts none and each row it records stands alone.
    request = getattr(task, "request", None)
    if request is None or getattr(request, "is_eager", False):
        return  # run in place: the sender's chain is already current
    chain_adopt(getattr(request, CHAIN_HEADER, None) or (getattr(request, "headers", None) or {}).get(CHAIN_HEADER) or "")


@signals.task_postrun.connect(dispatch_uid="gatehouse.chain_forget")
def _chain_forget(task=None, **kwargs):
    if not getattr(getattr(task, "request", None), "is_eager", False):
        chain_adopt("")


@shared_task(
    acks_late=True,
    # Idempotent (the upload claim): a message whose worker process died is
    # put back rather than dropped.
    reject_on_worker_lost=True,
    autoretry_for=(aws.AwsTransientError, publishing.UploadBusy),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
    soft_time_limit=120,
    time_limit=180,
)
def revision_upload_task(revision_id: int) -> str:
    # Idempotent: the claim in the service makes a redelivery a no-op. When
    # the retries run out the revision stays pending for revisions_sweep.
    result = publishing.revision_upload(revision_id=revision_id)
    if result.outcome == "uploaded":
        provisioning.provisions_waiting_on_config_wake(revision_id=revision_id)
    return result.outcome


@shared_task(
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=60,
    time_limit=90,
)
def config_publish_task(site_id: int, actor_id: int | None = None, reason: str = "") -> int | None:
    """The retry of an on-commit publish that failed unexpectedly.

    Idempotent: an unchanged config makes no revision. An invalid config is
    recorded, not retried; anything else is retried a bounded number of times.
    """
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    revision = publishing.config_publish_checked(site_id=site_id, actor=actor, reason=reason)
    return revision.pk if revision else None


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def revisions_sweep() -> int:
    return len(publishing.revisions_sweep())


@shared_task(acks_late=True, soft_time_limit=600, time_limit=660)
def providers_refresh_keys() -> int:
    return provider_services.providers_refresh_keys()


class DeploymentTask(DjangoTask):
    """Records a deployment as failed when its task gives up for good.

    Retries exhausted or a time limit hit: without this the deployment would
    say "running" forever.
    """

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        deployment_id = args[0] if args else kwargs.get("deployment_id")
        if deployment_id is not None:
            provisioning.deployment_fail(deployment_id=deployment_id, message=f"gave up: {type(exc).__name__}: {exc}")


@shared_task(
    base=DeploymentTask,
    acks_late=True,
    # Idempotent: the lease claim (engine._begin) skips a delivery while
    # another run holds the deployment, so a put-back message is harmless.
    reject_on_worker_lost=True,
    autoretry_for=(aws.AwsTransientError,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
    # A build upload may move 200 MB; everything else takes seconds, since
    # no step waits for AWS (a waiting step re-enqueues instead).
    soft_time_limit=1500,
    time_limit=1560,
)
def deployment_run_task(deployment_id: int) -> str:
    """Provision, redeploy, build upload, edge release, teardown: one step further, or to the end.

    Idempotent (acks_late): a finished deployment is skipped, a succeeded
    step is not repeated, and every step is safe to run twice.
    """
    progress = provisioning.deployment_run(deployment_id=deployment_id)
    if progress.state == "wait":
        # A new message rather than self.retry(): waiting on CloudFront is
        # not a failure and must not use up the retry budget.
        deployment_run_task.apply_async((deployment_id,), countdown=progress.countdown)
    return progress.state


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def deployments_sweep() -> int:
    return len(provisioning.deployments_sweep())


@shared_task(
    acks_late=True,
    autoretry_for=(aws.AwsTransientError,),
    retry_backoff=30,
    max_retries=5,
    soft_time_limit=120,
    time_limit=150,
)
def edge_log_retention_task() -> int:
    # Idempotent: creating a group that exists and setting the same retention
    # again change nothing. Daily, so a new edge function shard is covered.
    return len(edge_logs.edge_log_retention_apply())


@shared_task(
    acks_late=True,
    autoretry_for=(aws.AwsTransientError,),
    retry_backoff=30,
    max_retries=3,
    soft_time_limit=240,
    time_limit=300,
)
def staged_uploads_purge_task() -> int:
    # Idempotent: deleting a staged zip already gone succeeds.
    return len(staged_uploads.staged_uploads_purge().purged)


@shared_task(
    acks_late=True,
    # Idempotent: rows are claimed by a conditional UPDATE, so a put-back
    # message moves other sites or none.
    reject_on_worker_lost=True,
    autoretry_for=(aws.AwsTransientError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=8,
    soft_time_limit=300,
    time_limit=360,
)
def rollout_advance_task(rollout_id: int) -> int:
    """One batch of a roll-out's sites; sent again while some are pending."""
    pending = provisioning.rollout_advance(rollout_id=rollout_id)
    if pending:
        rollout_advance_task.apply_async((rollout_id,))
    return pending


@shared_task(acks_late=True, soft_time_limit=50, time_limit=60)
def rollouts_sweep() -> int:
    return provisioning.rollouts_sweep()


class InvitationTask(DjangoTask):
    """Marks the invitation failed when its retries run out, so staff see it and can resend."""

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        invitation_id = args[0] if args else kwargs.get("invitation_id")
        if invitation_id is not None:
            invitations.invitation_give_up(invitation_id=invitation_id, error=f"gave up: {exc}")


@shared_task(
    base=InvitationTask,
    acks_late=True,
    # Idempotent: the claim sends an invitation once per "send" or "resend".
    reject_on_worker_lost=True,
    autoretry_for=(aws.AwsTransientError,),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=6,
    soft_time_limit=60,
    time_limit=90,
)
def invitation_send_task(invitation_id: int) -> str:
    return invitations.invitation_send(invitation_id=invitation_id)


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def visits_collect_task() -> int:
    # Idempotent: a line read twice is one row (its event key).
    return visits.visits_collect().added


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def visits_purge_task() -> int:
    return visits.visits_purge()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def access_reminders_task() -> int:
    # Idempotent: one reminder per site per end date (the AccessReminder claim).
    return reminders.access_reminders_send()


@shared_task(
    bind=True,
    acks_late=True,
    # Idempotent: the claim (a conditional UPDATE) skips a delivery already
    # being sent or finished; a receiver drops a repeat by its webhook-id.
    reject_on_worker_lost=True,
    autoretry_for=(webhook_delivery.DeliveryFailed,),
    retry_backoff=settings.GATEHOUSE_WEBHOOK_RETRY_BACKOFF,
    retry_backoff_max=settings.GATEHOUSE_WEBHOOK_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=max(settings.GATEHOUSE_WEBHOOK_MAX_ATTEMPTS - 1, 0),
    soft_time_limit=60,
    time_limit=90,
)
def webhook_deliver_task(self, delivery_id: int) -> str:
    """One attempt at a webhook delivery; a failed one is retried with backoff until the last."""
    return webhook_delivery.delivery_attempt(delivery_id=delivery_id, final=self.request.retries >= self.max_retries)


@shared_task(acks_late=True, soft_time_limit=240, time_limit=270)
def webhook_deliveries_purge_task() -> int:
    return webhooks.webhook_deliveries_purge()
