from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Protected sites"

    def ready(self):
        # Registers checks, receivers and tasks (sites.enqueue sends tasks by name).
        from django.db.models.signals import post_migrate

        from . import checks, signals, tasks  # noqa: F401
        from .roles import roles_ensure

        # After every migrate and flush: the role groups exist (sites/roles.py).
        post_migrate.connect(roles_ensure, sender=self, dispatch_uid="sites.roles_ensure")
