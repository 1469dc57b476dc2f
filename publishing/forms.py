"""Forms of publishing: they parse what the pages send; every rule is in services.py."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from datetime import time
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


WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
TIME_OF_DAY = re.compile(r"^([01]?\d|2[0-3])[:h.]([0-5]\d)$")


class QueueSlotsForm(forms.Form):
    """The weekly queue slots: for each weekday the local times, like "09:00, 12:30", and the time zone."""

    timezone = forms.ChoiceField(label=_("Time zone"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["timezone"]).choices = [
            (zone, zone) for zone in sorted(zoneinfo.available_timezones())
        ]
        for weekday, label in enumerate(WEEKDAYS):
            self.fields[f"day_{weekday}"] = forms.CharField(
                label=label,
                required=False,
                max_length=400,
                widget=forms.TextInput(attrs={"placeholder": "09:00, 12:30"}),
            )

    @staticmethod
    def initial_for(tz: str, slots: Iterable[tuple[int, time]]) -> dict[str, str]:
        initial = {"timezone": tz}
        for weekday, at in sorted(slots):
            key = f"day_{weekday}"
            initial[key] = f"{initial[key]}, {at:%H:%M}" if key in initial else f"{at:%H:%M}"
        return initial

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for weekday in range(7):
            key = f"day_{weekday}"
            times = []
            for word in re.split(r"[,;\s]+", data.get(key, "") or ""):
                if not word:
                    continue
                match = TIME_OF_DAY.match(word)
                if match is None:
                    self.add_error(key, _("“%(value)s” is not a time of day like 09:30.") % {"value": word})
                    break
                times.append(time(int(match[1]), int(match[2])))
            data[f"{key}_times"] = times
        return data

    def slots(self) -> list[tuple[int, time]]:
        return [(weekday, at) for weekday in range(7) for at in self.cleaned_data[f"day_{weekday}_times"]]

    def day_fields(self) -> list[forms.BoundField]:
        return [self[f"day_{weekday}"] for weekday in range(7)]


class PostImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=_("UTF-8, comma or semicolon separated, at most 2 MB and 5,000 rows."),
    )
    good_rows_only = forms.BooleanField(
        label=_("If some rows have problems, import the good rows anyway"),
        required=False,
        help_text=_("Otherwise nothing is imported until every row is right."),
    )
