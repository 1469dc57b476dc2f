"""Filters that show figures in the user's language: counts with grouping, rates as percentages, and the
weekday names of best times."""

from __future__ import annotations

from django import template
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.formats import number_format
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def count(value: int | None) -> str:
    return "—" if value is None else number_format(value, force_grouping=True)


@register.filter
def percent(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(value)s %%") % {"value": number_format(value * 100, 2, force_grouping=True)}


@register.filter
def weekday(value: int) -> str:
    """0 → Mon (in the active language)."""
    return str(WEEKDAYS_ABBR[value])
