"""Forms of publishing: they parse what the pages send; every rule is in services.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountGroup, Platform, SocialAccount

from .models import Campaign, PostStatus

DATETIME_LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class IdListField(forms.Field):
    """Ids sent as repeated values (hidden inputs), in their order; anything not a number is refused."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        try:
            return [int(v) for v in values if str(v).strip()]
        except (TypeError, ValueError):
            raise forms.ValidationError(_("Unknown image.")) from None


class ComposeForm(forms.Form):
    """The composer. Accounts, groups and campaigns come from the organization (the view passes them); one text
    and link field per network of those accounts holds that network's variant, empty meaning the main text.
    Images are uploaded on their own (media_upload) and arrive here as ids, each with its ``alt_<id>`` text."""

    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    accounts = forms.MultipleChoiceField(label=_("Accounts"), widget=forms.CheckboxSelectMultiple, required=False)
    groups = forms.MultipleChoiceField(label=_("Account groups"), widget=forms.CheckboxSelectMultiple, required=False)
    media = IdListField(required=False)
    first_comment = forms.CharField(
        label=_("First comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Posted under the post on Facebook and Instagram once it is published (hashtags, a link)."),
    )
    campaign = forms.ChoiceField(label=_("Campaign"), required=False)
    scheduled_at = forms.DateTimeField(
        label=_("Schedule at"),
        required=False,
        widget=DATETIME_LOCAL,
        help_text=_("In your time zone."),
    )

    def __init__(
        self,
        *args: Any,
        accounts: Iterable[SocialAccount],
        campaigns: Iterable[Campaign],
        groups: Iterable[AccountGroup] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.account_by_id = {str(account.id): account for account in accounts}
        self.group_by_id = {str(group.id): group for group in groups}
        cast(forms.ChoiceField, self.fields["groups"]).choices = [(k, g.name) for k, g in self.group_by_id.items()]
        self.campaign_by_id = {str(campaign.id): campaign for campaign in campaigns}
        cast(forms.ChoiceField, self.fields["accounts"]).choices = [
            (key, str(a)) for key, a in self.account_by_id.items()
        ]
        cast(forms.ChoiceField, self.fields["campaign"]).choices = [
            ("", _("None")),
            *((k, c.name) for k, c in self.campaign_by_id.items()),
        ]
        self.platforms = sorted({account.platform for account in self.account_by_id.values()})
        for platform in self.platforms:
            network = Platform(platform).label
            self.fields[f"variant_{platform}_text"] = forms.CharField(
                label=_("Text for %(network)s") % {"network": network},
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("Same as the main text")}),
            )
            self.fields[f"variant_{platform}_link"] = forms.URLField(
                label=_("Link for %(network)s") % {"network": network}, required=False, assume_scheme="https"
            )

    def chosen_accounts(self) -> list[SocialAccount]:
        """The accounts ticked one by one; the view adds those of the chosen groups."""
        return [self.account_by_id[key] for key in self.cleaned_data.get("accounts", [])]

    def chosen_group_ids(self) -> list[int]:
        return [int(key) for key in self.cleaned_data.get("groups", [])]

    def alt_texts(self, asset_ids: Iterable[int]) -> dict[int, str]:
        """The alternative text typed for each image (``alt_<id>``), for the images sent."""
        return {i: str(self.data[f"alt_{i}"])[:2000] for i in asset_ids if f"alt_{i}" in self.data}

    def chosen_campaign(self) -> Campaign | None:
        return self.campaign_by_id.get(self.cleaned_data["campaign"] or "")

    def variants(self, targets: Iterable[SocialAccount] | None = None) -> dict[str, tuple[str, str]]:
        """The networks of ``targets`` (default: the ticked accounts) whose text or link was changed:
        (text, link), the text defaulting to the main one."""
        data = self.cleaned_data
        chosen = {account.platform for account in (self.chosen_accounts() if targets is None else targets)}
        variants = {}
        for platform in self.platforms:
            text = data.get(f"variant_{platform}_text", "").strip()
            link = data.get(f"variant_{platform}_link", "")
            if platform in chosen and (text or link):
                variants[platform] = (text or data.get("text", ""), link)
        return variants

    def variant_fields(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(Platform(p).label, self[f"variant_{p}_text"], self[f"variant_{p}_link"]) for p in self.platforms]


class ApproveForm(forms.Form):
    at = forms.DateTimeField(label=_("Publish at"), required=False, widget=DATETIME_LOCAL)


class PostFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All")), *PostStatus.choices], required=False)
    campaign = forms.TypedChoiceField(label=_("Campaign"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, campaigns: Iterable[Campaign], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["campaign"]).choices = [
            ("", _("All")),
            *((c.id, c.name) for c in campaigns),
        ]


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    goal = forms.CharField(label=_("Goal"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    starts_on = forms.DateField(label=_("Starts on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(label=_("Ends on"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    utm_campaign = forms.CharField(
        label=_("UTM campaign"),
        max_length=80,
        required=False,
        help_text=_("Added to the links of the campaign's posts; defaults to the name."),
    )


class CalendarForm(forms.Form):
    """Which calendar page to show: a week (default) or a month, around a day (default: today)."""

    view = forms.ChoiceField(choices=[("week", _("Week")), ("month", _("Month"))], required=False)
    date = forms.DateField(input_formats=["%Y-%m-%d"], required=False)


class CalendarMoveForm(forms.Form):
    """Where a post was dropped: a local date and time in the user's time zone."""

    at = forms.DateTimeField(label=_("Publish at"), input_formats=["%Y-%m-%dT%H:%M"])
    view = forms.ChoiceField(choices=[("week", "week"), ("month", "month")], required=False)
