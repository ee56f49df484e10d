"""Badges of the equipment pages."""

from django import template

register = template.Library()

PATROL_COLOURS = {"planned": "blue", "in_progress": "orange", "completed": "green"}
RESULT_COLOURS = {"passed": "green", "findings": "yellow", "failed": "red"}
ANSWER_COLOURS = {"ok": "green", "fault": "red", "na": "grey"}


@register.filter
def patrol_colour(status: str) -> str:
    return PATROL_COLOURS.get(status, "grey")


@register.filter
def result_colour(result: str) -> str:
    return RESULT_COLOURS.get(result, "grey")


@register.filter
def answer_colour(answer: str) -> str:
    return ANSWER_COLOURS.get(answer, "grey")


@register.filter
def answer_label(answer: str) -> str:
    from ..models import Answer

    try:
        return Answer(answer).label
    except ValueError:
        return "—"
