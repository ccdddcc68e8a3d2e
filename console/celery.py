import os

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

app = Celery("console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work. Both tasks are cheap when there is nothing to do.
app.conf.beat_schedule = {
    "revisions-sweep": {
        "task": "sites.tasks.revisions_sweep",
        "schedule": 60.0,
    },
    "deployments-sweep": {
        "task": "sites.tasks.deployments_sweep",
        "schedule": 300.0,
    },
    "providers-refresh-keys": {
        "task": "sites.tasks.providers_refresh_keys",
        "schedule": float(settings.GATEHOUSE_PROVIDER_KEYS_REFRESH_SECONDS),
    },
}
