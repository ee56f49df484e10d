"""Badges of the work-order pages."""

from django import template

register = template.Library()

STATE_BADGES = {
    "dispatched": "badge badge-orange",
    "accepted": "badge badge-yellow",
    "on_site": "badge badge-blue",
    "done": "badge badge-green",
}


@register.filter
def work_state_badge(state: str) -> str:
    """The CSS classes of a work order's state badge (returned ones plain)."""
    return STATE_BADGES.get(state, "badge")
