"""Named conditions that time rules watch: a registry the domains fill.

A condition is a function ``(event, now, params) -> iterable of Hit``: the subjects that
meet it at ``now`` ("hidden dangers past their deadline", "patrols overdue", "boxes not
cleared N hours before the entry deadline"). The alerts engine evaluates the condition
of each enabled time rule periodically, raises an alarm for every subject that newly
meets it and clears the alarms of subjects that no longer do. Domains register their
conditions from their ``AppConfig.ready()``::

    from eventguard.core import conditions

    @conditions.register(
        "hazards.overdue", label=_("Hidden danger past its deadline"), domain="hazards"
    )
    def overdue(event, now, params):
        for hazard in Hazard.objects.filter(event=event, deadline__lt=now, closed_at=None):
            yield conditions.Hit(subject=subjects.ref_for(hazard),
                                 details={"deadline": hazard.deadline.isoformat()})

``params`` is the rule's parameter dictionary (``{"hours": 24}``); ``defaults`` at
registration document the parameters a condition understands.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.functional import Promise

from .subjects import SubjectRef


@dataclass(frozen=True)
class Hit:
    """One subject meeting a condition, with what a person needs to act on it."""

    subject: SubjectRef
    details: dict = field(default_factory=dict)


Evaluate = Callable[..., Iterable[Hit]]


@dataclass(frozen=True)
class Condition:
    name: str
    label: Promise | str
    domain: str
    evaluate: Evaluate
    defaults: dict


_conditions: dict[str, Condition] = {}


def register(name: str, *, label: Promise | str, domain: str, defaults: dict | None = None):
    """Register ``fn(event, now, params)`` as the condition ``name``."""

    def decorate(fn: Evaluate) -> Evaluate:
        _conditions[name] = Condition(name, label, domain, fn, dict(defaults or {}))
        return fn

    return decorate


def unregister(name: str) -> None:
    _conditions.pop(name, None)


def get(name: str) -> Condition | None:
    return _conditions.get(name)


def registered() -> list[Condition]:
    return sorted(_conditions.values(), key=lambda c: c.name)


def evaluate(name: str, event, now, params: dict | None = None) -> list[Hit]:
    """The subjects meeting condition ``name`` now; a KeyError if it is not registered."""
    condition = _conditions[name]
    merged = {**condition.defaults, **(params or {})}
    return list(condition.evaluate(event, now, merged))
