from django.conf import settings
from django.db import models


class Profile(models.Model):
    """What Django's user lacks for OIDC: whether the email address was verified."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devidp_profile")
    email_verified = models.BooleanField(default=False)

    def __str__(self):
        return f"{self.user} ({'verified' if self.email_verified else 'unverified'})"
