"""The registry of named figures: each domain contributes, reports render.

A figure is computed from records every time it is asked for, and names the page
listing the records it counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
# Values several figures are computed from, kept for one report (see ``shared``).
_report_values: ContextVar[dict | None] = ContextVar("figures_report_values", default=None)


def register(key: str, *, label: Promise, compute: Callable, records_url: Callable, order=100):
    _figures[key] = Figure(key, label, compute, records_url, order)


def registered() -> list[Figure]:
    return sorted(_figures.values(), key=lambda f: (f.order, f.key))


def label_in(label: Promise, language: str) -> str:
    with translation.override(language):
        return str(label)


@contextmanager
def one_report() -> Iterator[None]:
    """Within this block, a value that ``shared`` computes is computed once: the figures of
    a report read the same records once, and agree with each other."""
    if _report_values.get() is not None:
        yield
        return
    token = _report_values.set({})
    try:
        yield
    finally:
        _report_values.reset(token)


def shared(key: tuple, compute: Callable[[], object]):
    """``compute()``, computed once per report (see ``one_report``), every time outside one."""
    values = _report_values.get()
    if values is None:
        return compute()
    if key not in values:
        values[key] = compute()
    return values[key]


def figures_report(event, *, keys: list[str] | None = None) -> dict:
    """``{"event", "generated_at", "figures": {key: {value, label, records_url}}}``."""
    with one_report():
        return _report(event, keys)


def _report(event, keys: list[str] | None) -> dict:
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
