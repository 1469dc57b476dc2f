"""Forms of moderation: they parse what the pages send; every rule is in services.py and selectors.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Platform, SocialAccount
from listening.models import Sentiment

from .models import ConversationStatus
from .selectors import InboxFilters

ASSIGNEE_CHOICES = [("", _("Anyone")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))]


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *ConversationStatus.choices], required=False)
    network = forms.ChoiceField(label=_("Network"), choices=[("", _("All")), *Platform.choices], required=False)
    account = forms.TypedChoiceField(label=_("Account"), coerce=int, empty_value=None, required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), choices=ASSIGNEE_CHOICES, required=False)
    lang = forms.ChoiceField(
        label=_("Language"), choices=[("", _("All")), ("en", _("English")), ("fr", _("French"))], required=False
    )
    sentiment = forms.ChoiceField(label=_("Sentiment"), choices=[("", _("All")), *Sentiment.choices], required=False)

    def __init__(self, *args: Any, accounts: Iterable[SocialAccount], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["account"]).choices = [
            ("", _("All")),
            *((a.id, f"{a.get_platform_display()} · @{a.handle}") for a in accounts),
        ]

    def filters(self) -> InboxFilters:
        data = self.cleaned_data
        return InboxFilters(
            status=data["status"], network=data["network"], account_id=data["account"], assignee=data["assignee"],
            lang=data["lang"], sentiment=data["sentiment"],
        )  # fmt: skip


class StatusForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("open", _("Open")), ("resolve", _("Resolve")), ("spam", _("Mark as spam")), ("reopen", _("Reopen"))]
    )
