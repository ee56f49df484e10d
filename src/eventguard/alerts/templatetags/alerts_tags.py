"""Badges of the alarm pages: one colour per severity and per state."""

from django import template

register = template.Library()

SEVERITY_COLOURS = {"critical": "red", "major": "orange", "minor": "yellow", "warning": "blue"}
STATE_COLOURS = {"active": "red", "acknowledged": "yellow", "cleared": "grey"}


@register.filter
def severity_colour(severity: str) -> str:
    return SEVERITY_COLOURS.get(severity, "blue")


@register.filter
def alarm_state_colour(state: str) -> str:
    return STATE_COLOURS.get(state, "grey")


@register.filter
def severity_label(severity: str) -> str:
    from ..models import Severity

    try:
        return Severity(severity).label
    except ValueError:
        return severity


@register.filter
def alarm_state_label(state: str) -> str:
    from ..models import AlarmState

    try:
        return AlarmState(state).label
    except ValueError:
        return state
