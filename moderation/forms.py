"""Forms of moderation: they parse what the pages send; every rule is in services.py and selectors.py."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import AccountGroup, Membership, Platform, SocialAccount, Team
from listening.models import Sentiment

from .models import AssignmentMode, CannedReply, ConversationKind, ConversationStatus, Priority, Queue
from .selectors import InboxFilters
from .services import QUEUE_LANGUAGES, QueueSpec

ASSIGNEE_CHOICES = [("", _("Anyone")), ("mine", _("Mine")), ("unassigned", _("Unassigned"))]
LANGUAGE_NAMES = {
    "en": _("English"), "fr": _("French"), "es": _("Spanish"), "de": _("German"), "it": _("Italian"),
    "pt": _("Portuguese"), "nl": _("Dutch"),
}  # fmt: skip
SLA_CHOICES = [("", _("Any")), ("breached", _("Response overdue")), ("at_risk", _("Due within 30 minutes"))]


def _choices(field: forms.Field, choices: Iterable[tuple[Any, Any]]) -> None:
    cast(forms.ChoiceField, field).choices = list(choices)


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All")), ("active", _("New, open or waiting")), *ConversationStatus.choices],
        required=False,
    )
    queue = forms.ChoiceField(label=pgettext_lazy("inbox", "Queue"), required=False)
    assignee = forms.ChoiceField(label=_("Assignee"), choices=ASSIGNEE_CHOICES, required=False)
    network = forms.ChoiceField(label=_("Network"), choices=[("", _("All")), *Platform.choices], required=False)
    account = forms.TypedChoiceField(label=_("Account"), coerce=int, empty_value=None, required=False)
    lang = forms.ChoiceField(
        label=_("Language"), choices=[("", _("All")), ("en", _("English")), ("fr", _("French"))], required=False
    )
    sentiment = forms.ChoiceField(label=_("Sentiment"), choices=[("", _("All")), *Sentiment.choices], required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"), coerce=int, empty_value=None, choices=[("", _("Any")), *Priority.choices], required=False
    )
    sla = forms.ChoiceField(label=_("Response time"), choices=SLA_CHOICES, required=False)

    def __init__(
        self,
        *args: Any,
        accounts: Iterable[tuple[int, str]],
        queues: Iterable[Queue] = (),
        members: Iterable[Membership] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["account"], [("", _("All")), *accounts])
        _choices(
            self.fields["queue"],
            [
                ("", _("Any")),
                ("mine", _("My teams' queues")),
                ("none", _("No queue")),
                *((str(q.id), q.name) for q in queues),
            ],
        )
        _choices(self.fields["assignee"], [*ASSIGNEE_CHOICES, *((str(m.id), str(m.user)) for m in members)])

    def filters(self) -> InboxFilters:
        data = self.cleaned_data
        return InboxFilters(
            status=data["status"], network=data["network"], account_id=data["account"], assignee=data["assignee"],
            queue=data["queue"], lang=data["lang"], sentiment=data["sentiment"], priority=data["priority"],
            sla=data["sla"],
        )  # fmt: skip


class StatusForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("open", _("Open")), ("wait", _("Waiting for them")), ("resolve", _("Resolve")),
            ("spam", _("Mark as spam")), ("reopen", _("Reopen")),
        ]
    )  # fmt: skip


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=10_000)
    client_token = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)
    seen_message = forms.IntegerField(widget=forms.HiddenInput, required=False)
    in_reply_to = forms.IntegerField(widget=forms.HiddenInput, required=False)
    resolve = forms.BooleanField(label=_("Resolve once sent"), required=False)
    force = forms.BooleanField(widget=forms.HiddenInput, required=False)


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        help_text=_("Only your team sees it. Mention someone with @ and the start of their e-mail address."),
    )


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Assign to"), coerce=int, empty_value=None, required=False)
    expected = forms.CharField(widget=forms.HiddenInput, required=False)  # the assignee the lead saw ("" for none)

    def __init__(self, *args: Any, members: Iterable[Membership] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["assignee"], [("", _("Nobody (unassigned)")), *((m.id, str(m.user)) for m in members)])


class MoveForm(forms.Form):
    queue = forms.TypedChoiceField(label=_("Move to queue"), coerce=int, empty_value=None, required=False)

    def __init__(self, *args: Any, queues: Iterable[Queue] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["queue"], [("", _("No queue")), *((q.id, q.name) for q in queues)])


class EscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=1000, required=False)


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(label=_("Priority"), coerce=int, choices=Priority.choices)


class MessageActionForm(forms.Form):
    kind = forms.ChoiceField(choices=[("like", "like"), ("hide", "hide"), ("unhide", "unhide"), ("delete", "delete")])
    client_token = forms.CharField(max_length=64, required=False)


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        label=_("With the selected"),
        choices=[
            ("resolve", _("Resolve")), ("spam", _("Mark as spam")), ("open", _("Open")),
            ("wait", _("Waiting for them")), ("reopen", _("Reopen")), ("take", _("Take them")),
            ("assign", _("Assign to…")), ("move", _("Move to queue…")),
        ],
    )  # fmt: skip
    ids = forms.CharField()
    assignee = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    queue = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)

    def __init__(
        self, *args: Any, members: Iterable[Membership] = (), queues: Iterable[Queue] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self.fields["assignee"], [("", _("Nobody")), *((m.id, str(m.user)) for m in members)])
        _choices(self.fields["queue"], [("", _("No queue")), *((q.id, q.name) for q in queues)])

    def clean_ids(self) -> list[int]:
        raw = self.cleaned_data["ids"]
        ids = [int(part) for part in raw.replace(",", " ").split() if part.isdigit() and len(part) <= 18]
        if not ids:
            raise forms.ValidationError(_("Select at least one conversation."))
        if len(ids) > 200:
            raise forms.ValidationError(_("Select at most 200 conversations at a time."))
        return list(dict.fromkeys(ids))


class SavedViewForm(forms.Form):
    name = forms.CharField(label=_("Name of the view"), max_length=60)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=2000)
    shared = forms.BooleanField(label=_("Share with the organization"), required=False)


class QueueForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80)
    team = forms.TypedChoiceField(label=_("Team that works it"), coerce=int)
    position = forms.IntegerField(
        label=_("Order"),
        min_value=0,
        initial=0,
        help_text=_("Queues are tried in this order; the first that matches takes the conversation."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    networks = forms.MultipleChoiceField(
        label=_("Networks"), choices=Platform.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    accounts = forms.TypedMultipleChoiceField(
        label=_("Accounts"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    account_groups = forms.TypedMultipleChoiceField(
        label=_("Account groups"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"),
        choices=[(code, LANGUAGE_NAMES[code]) for code in QUEUE_LANGUAGES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    kinds = forms.MultipleChoiceField(
        label=_("Kinds"), choices=ConversationKind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    sentiment_below = forms.FloatField(
        label=_("Sentiment score below"),
        min_value=-1,
        max_value=1,
        required=False,
        help_text=_("From -1 (most negative) to 1; -0.05 and below reads as negative. Empty: any."),
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        max_length=1000,
        required=False,
        help_text=_('As in listening: rembours* OR "pas reçu" OR #SAV. Empty: any text.'),
    )
    min_followers = forms.IntegerField(label=_("Author has at least this many followers"), min_value=0, required=False)
    vip_only = forms.BooleanField(label=_("Author is on the VIP list"), required=False)
    priority = forms.TypedChoiceField(label=_("Priority given"), coerce=int, choices=Priority.choices, initial=0)
    assignment_mode = forms.ChoiceField(label=_("Assignment"), choices=AssignmentMode.choices)
    first_response_minutes = forms.IntegerField(
        label=_("First response within (minutes)"), min_value=1, max_value=60 * 24 * 90, required=False
    )
    resolution_minutes = forms.IntegerField(
        label=_("Resolution within (minutes)"), min_value=1, max_value=60 * 24 * 90, required=False
    )
    escalate_to = forms.TypedChoiceField(label=_("Escalate to"), coerce=int, empty_value=None, required=False)

    def __init__(
        self,
        *args: Any,
        teams: Iterable[Team],
        accounts: Iterable[SocialAccount],
        groups: Iterable[AccountGroup],
        queues: Iterable[Queue],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._teams = {t.id: t for t in teams}
        self._accounts = {a.id: a for a in accounts}
        self._groups = {g.id: g for g in groups}
        self._queues = {q.id: q for q in queues}
        _choices(self.fields["team"], [(t.id, t.name) for t in self._teams.values()])
        _choices(self.fields["accounts"], [(a.id, str(a)) for a in self._accounts.values()])
        _choices(self.fields["account_groups"], [(g.id, g.name) for g in self._groups.values()])
        _choices(self.fields["escalate_to"], [("", _("Nowhere")), *((q.id, q.name) for q in self._queues.values())])

    @classmethod
    def initial_of(cls, queue: Queue) -> dict[str, Any]:
        return {
            "name": queue.name, "team": queue.team_id, "position": queue.position, "is_active": queue.is_active,
            "networks": queue.networks, "accounts": [a.id for a in queue.accounts.all()],
            "account_groups": [g.id for g in queue.account_groups.all()], "languages": queue.languages,
            "kinds": queue.kinds, "sentiment_below": queue.sentiment_below, "keywords": queue.keywords,
            "min_followers": queue.min_followers, "vip_only": queue.vip_only, "priority": queue.priority,
            "assignment_mode": queue.assignment_mode, "first_response_minutes": queue.first_response_minutes,
            "resolution_minutes": queue.resolution_minutes, "escalate_to": queue.escalate_to_id,
        }  # fmt: skip

    def spec(self) -> QueueSpec:
        d = self.cleaned_data
        return QueueSpec(
            name=d["name"], team=self._teams[d["team"]], position=d["position"] or 0, is_active=d["is_active"],
            networks=d["networks"], accounts=[self._accounts[i] for i in d["accounts"]],
            account_groups=[self._groups[i] for i in d["account_groups"]], languages=d["languages"], kinds=d["kinds"],
            sentiment_below=d["sentiment_below"], keywords=d["keywords"], min_followers=d["min_followers"],
            vip_only=d["vip_only"], priority=d["priority"], assignment_mode=d["assignment_mode"],
            first_response_minutes=d["first_response_minutes"], resolution_minutes=d["resolution_minutes"],
            escalate_to=self._queues.get(d["escalate_to"]) if d["escalate_to"] else None,
        )  # fmt: skip


class CannedReplyForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = CannedReply
        fields = ["name", "language", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 5})}


class VipForm(forms.Form):
    handle = forms.CharField(label=_("Handle"), max_length=300)
    platform = forms.ChoiceField(
        label=_("Network"), choices=[("", _("Any network")), *Platform.choices], required=False
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class AgentForm(forms.Form):
    available = forms.BooleanField(label=_("Available"), required=False)
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=500, required=False)
