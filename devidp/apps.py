from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DevidpConfig(AppConfig):
    name = "devidp"
    verbose_name = "Development identity provider"

    def ready(self):
        # devidp's redirect rule and published passwords must never ride along
        # inside another project (the console above all).
        if settings.SETTINGS_MODULE != "devidp.settings":
            raise ImproperlyConfigured("devidp runs only as its own project: python -m devidp")
