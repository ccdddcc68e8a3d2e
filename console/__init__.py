# Load the Celery app with Django so that @shared_task binds to it and
# `delay_on_commit` works from views and the shell.
from .celery import app as celery_app

__all__ = ("celery_app",)
