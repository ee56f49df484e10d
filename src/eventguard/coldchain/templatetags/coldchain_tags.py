"""Badges of the cold-chain pages."""

from django import template

register = template.Library()

STATE_COLOURS = {
    "entered_venue": "green",
    "in_transit": "green",
    "cleared": "blue",
    "released": "blue",
    "quarantined": "red",
    "disposed": "red",
    "declared": "grey",
}


@register.filter
def box_state_colour(state: str) -> str:
    return STATE_COLOURS.get(state, "yellow")
