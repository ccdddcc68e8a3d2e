"""Form fields the console's pages share."""

import re

from django import forms


def _lines(value: str) -> list[str]:
    """One item a line (commas work too), blanks dropped, order kept, no repeats."""
    items = []
    for raw in re.split(r"[\n,]", value or ""):
        item = raw.strip()
        if item and item not in items:
            items.append(item)
    return items


class LinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value):
        return _lines(super().to_python(value))

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value
