from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Protected sites"

    def ready(self):
        # Registers checks, receivers and tasks (sites.enqueue sends tasks by name).
        from . import checks, signals, tasks  # noqa: F401
