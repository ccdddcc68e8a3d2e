"""ShareLinkForm: a label and the day a new share link expires."""

from datetime import UTC, datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone


class ShareLinkForm(forms.Form):
    label = forms.CharField(
        label="Label", max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "board meeting, 12 Dec"}),
        help_text="Who or what the link is for; staff see it, the viewer does not.",
    )
    expires_on = forms.DateField(
        label="Link expires on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="End of this day, UTC. The site's own access end applies too.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = settings.GATEHOUSE_SHARE_LINK_MAX_DAYS
        self.fields["expires_on"].help_text = f"End of this day, UTC, at most {days} days from today. The site's own access end applies too."
        if not self.is_bound:
            self.initial.setdefault("expires_on", (timezone.now() + timedelta(days=min(7, days))).date())

    def clean_label(self):
        label = " ".join(self.cleaned_data["label"].split())
        if not label:
            raise forms.ValidationError("Give the link a label.")
        return label

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        now = timezone.now()
        if end <= now:
            raise forms.ValidationError("Pick a day from today on.")
        days = settings.GATEHOUSE_SHARE_LINK_MAX_DAYS
        if day > (now + timedelta(days=days)).date():
            raise forms.ValidationError(f"A link lasts at most {days} days: pick a day up to {(now + timedelta(days=days)).date():%d %b %Y}.")
        return end
