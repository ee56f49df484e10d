"""The main menu: each domain app registers its entries; the base template renders them.

An entry shows only to people who may view its domain in the current event.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: Promise
    url_name: str  # reversed with the event code as its only argument
    domain: str
    order: int = 100


_entries: dict[str, MenuEntry] = {}


def register_menu(
    key: str, *, label: Promise, url_name: str, domain: str, order: int = 100
) -> None:
    _entries[key] = MenuEntry(key, label, url_name, domain, order)


def menu_for(user, event) -> list[dict]:
    from .access import grants, is_superuser

    if event is None:
        return []
    if is_superuser(user):
        domains = None
    else:
        domains = set()
        for g in grants(user, event=event):
            domains |= g.domains
    items = []
    for entry in sorted(_entries.values(), key=lambda e: (e.order, e.key)):
        if domains is not None and entry.domain not in domains:
            continue
        items.append(
            {
                "key": entry.key,
                "label": entry.label,
                "url": reverse(entry.url_name, args=[event.code]),
            }
        )
    return items
