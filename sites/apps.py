from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "sites"
    verbose_name = "Protected sites"

    def ready(self):
        from . import checks, signals  # noqa: F401  (registers checks and receivers)
