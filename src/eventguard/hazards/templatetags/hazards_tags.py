"""Badges of the dual-prevention pages."""

from django import template

register = template.Library()

STATUS_COLOURS = {"reported": "red", "assigned": "orange", "rectified": "blue", "closed": "green"}


@register.filter
def hazard_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "grey")


@register.filter
def grade_label(grade: str) -> str:
    from ..models import RiskGrade

    try:
        return RiskGrade(grade).label
    except ValueError:
        return "—"


@register.filter
def hazard_overdue(hazard) -> bool:
    return hazard.is_overdue()
