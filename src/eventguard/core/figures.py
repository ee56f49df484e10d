"""The registry of named figures: each domain contributes, reports render.

A figure is computed from records every time it is asked for, and names the page
listing the records it counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone, translation
from django.utils.functional import Promise


@dataclass(frozen=True)
class Figure:
    key: str
    label: Promise  # gettext_lazy: rendered in each language on demand
    compute: Callable  # (event) -> number | str
    records_url: Callable  # (event) -> str
    order: int = 100


_figures: dict[str, Figure] = {}


def register(key: str, *, label: Promise, compute: Callable, records_url: Callable, order=100):
    _figures[key] = Figure(key, label, compute, records_url, order)


def registered() -> list[Figure]:
    return sorted(_figures.values(), key=lambda f: (f.order, f.key))


def label_in(label: Promise, language: str) -> str:
    with translation.override(language):
        return str(label)


def figures_report(event, *, keys: list[str] | None = None) -> dict:
    """``{"event", "generated_at", "figures": {key: {value, label, records_url}}}``."""
    figures = {}
    for figure in registered():
        if keys and figure.key not in keys:
            continue
        value = figure.compute(event)
        if hasattr(value, "isoformat"):
            value = value.isoformat()
        figures[figure.key] = {
            "value": value,
            "label": {
                "zh-Hans": label_in(figure.label, "zh-hans"),
                "en": label_in(figure.label, "en"),
            },
            "records_url": figure.records_url(event),
        }
    return {"event": event.code, "generated_at": timezone.now().isoformat(), "figures": figures}
