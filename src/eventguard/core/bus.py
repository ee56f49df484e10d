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


dispatch = _dispatch  # for a deliverer that runs the subscribers elsewhere (deliver_with)
_deliver: Handler | None = None


def deliver_with(deliver: Handler | None) -> None:
    """Let this process hand committed events to ``deliver`` instead of running the
    subscribers in the committing thread: the ingest worker queues them for a thread of its
    own, so that its loop never waits for subscribers. None: back to the default."""
    global _deliver
    _deliver = deliver


def publish(name: str, **payload) -> None:
    """Deliver ``name`` to its subscribers once the current transaction commits."""
    transaction.on_commit(lambda: (_deliver or _dispatch)(name, payload))
