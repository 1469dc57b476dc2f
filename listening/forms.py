"""Forms of listening."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Platform

from .models import Sentiment, TopicKind


class TopicForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Kind"), choices=TopicKind.choices)
    query = forms.CharField(
        label=_("Query"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_('For example: lumière AND (lampe OR "lampe de chevet") -promo lang:fr'),
    )


class MentionFilterForm(forms.Form):
    network = forms.ChoiceField(label=_("Network"), choices=[("", _("All")), *Platform.choices], required=False)
    lang = forms.ChoiceField(
        label=_("Language"), choices=[("", _("All")), ("en", _("English")), ("fr", _("French"))], required=False
    )
    sentiment = forms.ChoiceField(label=_("Sentiment"), choices=[("", _("All")), *Sentiment.choices], required=False)
    author = forms.CharField(label=_("Author"), required=False, max_length=100)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
