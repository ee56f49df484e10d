"""Notes the system writes on timelines and in notifications, stored as a message key and
its parameters and put into words in the reader's language when read (the page, the API,
the feed, an e-mail).

A stored message is ``{"key": ..., "params": {...}}``. A parameter is shown as it is,
except a ``{"zh": ..., "en": ...}`` pair (a name in both languages: the reader's one) and a
parameter the key declares as a choice (a stored value shown by its translated label).
Notes people write are free text and are shown as they were written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class NoteKind:
    text: object  # a lazy translation with %(name)s placeholders
    choices: Mapping[str, Mapping[str, object]] = field(default_factory=dict)


_KINDS: dict[str, NoteKind] = {}


def register(key: str, text, **choices: Mapping[str, object]) -> None:
    """Declare a message; ``choices`` maps a parameter to {stored value: label}."""
    _KINDS[key] = NoteKind(text, choices)


def message(key: str, **params) -> dict:
    """The stored form of a registered message."""
    if key not in _KINDS:
        raise KeyError(f"unregistered note {key!r}")
    return {"key": key, "params": params}


def _param(kind: NoteKind, name: str, value):
    if isinstance(value, dict) and "key" in value:
        return render(value)  # a message within a message
    if name in kind.choices and isinstance(value, str):
        return str(kind.choices[name].get(value, value))
    if isinstance(value, dict) and "zh" in value:
        english = (get_language() or "").startswith("en")
        return (value.get("en") if english else None) or value["zh"]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return value


class _Params(dict):
    """A parameter the stored message lacks (a message written before the text gained it)
    reads as a dash rather than failing the page."""

    def __missing__(self, name):
        return "—"


def render(stored: Mapping | None, fallback: str = "") -> str:
    """``stored`` in the active language; ``fallback`` when there is no (known) message."""
    if not stored or not isinstance(stored, Mapping):
        return fallback
    key = stored.get("key")
    kind = _KINDS.get(key) if isinstance(key, str) else None
    if kind is None:
        return fallback
    raw = stored.get("params") or {}
    if not isinstance(raw, Mapping):
        raw = {}
    params = _Params({k: _param(kind, k, v) for k, v in raw.items()})
    try:
        return str(kind.text) % params
    except (KeyError, TypeError, ValueError):
        return fallback or str(key)


def entry_note(entry) -> str:
    """What a timeline entry (an alarm's or a work order's) says: the system's message in
    the reader's language, or the note a person wrote."""
    details = getattr(entry, "details", None) or {}
    return render(details.get("message"), entry.note)


register("alarm.cleared_by_itself", _("Cleared by itself: the condition ended."))
