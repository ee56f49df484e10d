"""The in-process domain-event bus.

Services publish what happened (``"core.unit.created"``, ``"hazards.hazard.reported"``);
subscribers (the rules engine, notifications) run after the transaction commits, so
they never see a write that was rolled back. Domains never import their subscribers.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict], None]
_subscribers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str) -> Callable[[Handler], Handler]:
    """Register a handler for one event name, or ``"*"`` for all."""

    def register(handler: Handler) -> Handler:
        if handler not in _subscribers[name]:
            _subscribers[name].append(handler)
        return handler

    return register


def _dispatch(name: str, payload: dict) -> None:
    for handler in [*_subscribers.get(name, ()), *_subscribers.get("*", ())]:
        try:
            handler(name, payload)
        except Exception:  # a subscriber's failure must not undo a committed write
            logger.exception("domain-event handler %r failed for %s", handler, name)


def publish(name: str, **payload) -> None:
    """Deliver ``name`` to its subscribers once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(name, payload))
