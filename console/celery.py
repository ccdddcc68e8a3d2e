import os

from celery import Celery, signals
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work. Each task is cheap when there is nothing to do.
app.conf.beat_schedule = {
    "revisions-sweep": {
        "task": "sites.tasks.revisions_sweep",
        "schedule": 60.0,
    },
    "rollouts-sweep": {
        "task": "sites.tasks.rollouts_sweep",
        "schedule": 30.0,
    },
    "deployments-sweep": {
        "task": "sites.tasks.deployments_sweep",
        "schedule": 300.0,
    },
    "edge-log-retention": {
        "task": "sites.tasks.edge_log_retention_task",
        "schedule": 24 * 3600.0,
    },
    # Staged build zips no pending build reads, once past their max age.
    "staged-uploads-purge": {
        "task": "sites.tasks.staged_uploads_purge_task",
        "schedule": 3600.0,
    },
    "visits-collect": {
        "task": "sites.tasks.visits_collect_task",
        "schedule": float(settings.GATEHOUSE_VISITS_COLLECT_SECONDS),
    },
    "visits-purge": {
        "task": "sites.tasks.visits_purge_task",
        "schedule": 24 * 3600.0,
    },
    "access-reminders": {
        "task": "sites.tasks.access_reminders_task",
        "schedule": 3600.0,
    },
    "providers-refresh-keys": {
        "task": "sites.tasks.providers_refresh_keys",
        "schedule": float(settings.GATEHOUSE_PROVIDER_KEYS_REFRESH_SECONDS),
    },
    "webhook-deliveries-purge": {
        "task": "sites.tasks.webhook_deliveries_purge_task",
        "schedule": 24 * 3600.0,
    },
}


# --- Request ids into task logs ----------------------------------------------
# A task enqueued while a request is served carries the request's id in a
# message header; the worker sets it for the task's log lines.
REQUEST_ID_HEADER = "gatehouse_request_id"


@signals.before_task_publish.connect
def _request_id_to_message(headers=None, **kwargs):
    from console.logs import request_id_var

    request_id = request_id_var.get()
    if request_id and headers is not None and not headers.get(REQUEST_ID_HEADER):
        headers[REQUEST_ID_HEADER] = request_id


@signals.task_prerun.connect
def _request_id_from_message(task=None, **kwargs):
    from console.logs import request_id_var

    request = getattr(task, "request", None)
    if getattr(request, "is_eager", False):
        return  # run inside the request: its id is already set
    request_id = getattr(request, REQUEST_ID_HEADER, None) or (getattr(request, "headers", None) or {}).get(REQUEST_ID_HEADER)
    # A task without one (beat, a sweep) gets none rather than the last task's.
    request_id_var.set(request_id or "")


@signals.task_postrun.connect
def _request_id_forget(task=None, **kwargs):
    from console.logs import request_id_var

    if not getattr(getattr(task, "request", None), "is_eager", False):
        request_id_var.set("")


@signals.worker_init.connect
def _checks_at_start(**kwargs):
    # Production settings are checked before the worker takes a message: the
    # same system checks (sites/checks.py) that stop migrate and gunicorn.
    if settings.PRODUCTION:
        from django.core.management import call_command

        call_command("check", fail_level="ERROR")
