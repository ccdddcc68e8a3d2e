"""How services start background work: a Celery task by its name, once the transaction commits.

Services never import `sites.tasks`; tasks import services. A task is named
here by the name it is registered under and sent through the Celery app
(`signature(name).apply_async`: the registered task's own options and routing
apply, and in eager mode it runs in place), so imports run one way.
"""

from functools import partial

from celery import current_app
from django.db import transaction

from .context import CHAIN_HEADER, current_chain

DEPLOYMENT_RUN = "sites.tasks.deployment_run_task"
REVISION_UPLOAD = "sites.tasks.revision_upload_task"
CONFIG_PUBLISH = "sites.tasks.config_publish_task"
ROLLOUT_ADVANCE = "sites.tasks.rollout_advance_task"
INVITATION_SEND = "sites.tasks.invitation_send_task"
WEBHOOK_DELIVER = "sites.tasks.webhook_deliver_task"
TASK_NAMES = (DEPLOYMENT_RUN, REVISION_UPLOAD, CONFIG_PUBLISH, ROLLOUT_ADVANCE, INVITATION_SEND, WEBHOOK_DELIVER)


def task_send(name: str, *args, **options) -> None:
    """Send task `name` with positional `args` now (`options`: countdown and the like).

    The message carries the current chain (sites.context), so what the task
    records joins the action that sent it.
    """
    headers = {CHAIN_HEADER: current_chain()} if current_chain() else {}
    current_app.signature(name, args=args).apply_async(headers=headers, **options)


def task_send_on_commit(name: str, *args, **options) -> None:
    """Send task `name` once the current transaction commits, so it never runs before its row exists."""
    transaction.on_commit(partial(task_send, name, *args, **options))


def deployment_run_on_commit(deployment_id: int) -> None:
    task_send_on_commit(DEPLOYMENT_RUN, deployment_id)


def deployment_run(deployment_id: int) -> None:
    task_send(DEPLOYMENT_RUN, deployment_id)


def revision_upload_on_commit(revision_id: int) -> None:
    task_send_on_commit(REVISION_UPLOAD, revision_id)


def revision_upload(revision_id: int) -> None:
    task_send(REVISION_UPLOAD, revision_id)


def config_publish(site_id: int, actor_id: int | None, reason: str, *, countdown: int = 0) -> None:
    task_send(CONFIG_PUBLISH, site_id, actor_id, reason, countdown=countdown)


def rollout_advance_on_commit(rollout_id: int) -> None:
    task_send_on_commit(ROLLOUT_ADVANCE, rollout_id)


def rollout_advance(rollout_id: int) -> None:
    task_send(ROLLOUT_ADVANCE, rollout_id)


def invitation_send_on_commit(invitation_id: int) -> None:
    task_send_on_commit(INVITATION_SEND, invitation_id)


def webhook_deliver(delivery_id: int) -> None:
    task_send(WEBHOOK_DELIVER, delivery_id)


def webhook_deliver_on_commit(delivery_id: int) -> None:
    task_send_on_commit(WEBHOOK_DELIVER, delivery_id)
