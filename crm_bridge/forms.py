"""Forms of crm_bridge."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .events import subscribable


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("SMMS sends each event to this address as a signed POST request with a JSON body."),
    )
    description = forms.CharField(label=_("Description"), max_length=240, required=False)
    events = forms.MultipleChoiceField(label=_("Events"), choices=subscribable, widget=forms.CheckboxSelectMultiple)
    is_active = forms.BooleanField(
        label=_("Active"), required=False, help_text=_("Untick to stop sending events to this endpoint for now.")
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:  # a new endpoint is active: there is nothing to pause yet
            del self.fields["is_active"]
