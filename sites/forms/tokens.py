"""The API tokens page: a new personal token."""

from datetime import timedelta

from django import forms
from django.utils import timezone

from ..models import ApiToken, ProtectedSite

LIFETIMES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (365, "1 year")]


class TokenCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100, help_text="What uses it, e.g. “CI” or “Ada's laptop”.")
    lifetime = forms.TypedChoiceField(
        label="Expires after", choices=LIFETIMES, coerce=int, initial=90,
        help_text="A token stops working at the end of it; make a new one then.",
    )
    scope = forms.ChoiceField(
        label="Scope", choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ, widget=forms.RadioSelect,
        help_text="Read-only reads everything your role can see. Deploy also uploads builds, makes them live and "
        "redeploys, on the sites chosen below only. Never more than your role allows.",
    )
    sites = forms.ModelMultipleChoiceField(
        label="Sites it may deploy to", queryset=ProtectedSite.objects.none(), required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}), help_text="For the deploy scope.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["sites"].queryset = ProtectedSite.objects.order_by("client", "name")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if ApiToken.objects.filter(user=self.user, name=name, revoked_at=None, expires_at__gt=timezone.now()).exists():
            raise forms.ValidationError("You already have an active token by this name: pick another, or revoke that one.")
        return name

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == ApiToken.Scope.DEPLOY and not cleaned.get("sites"):
            self.add_error("sites", "Choose the sites this token may deploy to.")
        return cleaned

    @property
    def expires_at(self):
        return timezone.now() + timedelta(days=self.cleaned_data["lifetime"])
