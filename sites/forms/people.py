"""InviteForm: client addresses to allow and invite."""

import re

from django import forms
from django.core.exceptions import ValidationError

from ..services.invitations import email_normalise

MAX_ADDRESSES = 50


class InviteForm(forms.Form):
    emails = forms.CharField(
        label="E-mail addresses",
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        max_length=MAX_ADDRESSES * 260,
        help_text="One or more, separated by commas or new lines. Each is added to the allowed e-mails and sent an invitation.",
    )

    def clean_emails(self):
        pieces = [p for p in re.split(r"[,;\s]+", self.cleaned_data["emails"]) if p]
        if len(pieces) > MAX_ADDRESSES:
            raise ValidationError(f"At most {MAX_ADDRESSES} addresses at a time.")
        errors, addresses = [], []
        for piece in pieces:
            try:
                addresses.append(email_normalise(piece))
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        if not addresses:
            raise ValidationError("Give at least one e-mail address.")
        return list(dict.fromkeys(addresses))
