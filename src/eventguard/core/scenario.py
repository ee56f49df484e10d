"""Scenario loading: named data sets built through the services, step by step.

Each domain registers its steps for a scenario. A step runs in one transaction and
is recorded when it completes, so a rerun skips what is done; every step draws from
its own random generator seeded by (seed, step), so a load is deterministic.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import ScenarioStep


class Progress:
    """A plain progress bar on a terminal (nothing on a pipe unless asked)."""

    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = ""
        self.total = 0
        self.done = 0
        self._last = 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def finish(self) -> None:
        self.done = self.total
        self._draw(force=True)
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\r{self.label:<28} [{bar}] {self.done}/{self.total}")
        self.stream.flush()


@dataclass
class ScenarioContext:
    scenario: str
    event_code: str
    scale: float
    seed: int
    progress: Progress
    rng: random.Random = field(default_factory=random.Random)
    actor: object = None  # the system itself

    def n(self, base: int) -> int:
        """A reference count multiplied by the scale, rounded (at least 1 when base > 0)."""
        if base <= 0:
            return 0
        return max(1, round(base * self.scale))

    @property
    def event(self):
        from .models import Event

        return Event.objects.get(code=self.event_code)


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    run: Callable[[ScenarioContext], None]
    label: str


@dataclass(frozen=True)
class Scenario:
    name: str
    event_code: str
    description: str


_scenarios: dict[str, Scenario] = {}
_steps: dict[str, list[Step]] = {}


def register_scenario(name: str, *, event_code: str, description: str) -> None:
    _scenarios[name] = Scenario(name, event_code, description)


def step(scenario: str, name: str, *, order: int, label: str):
    """Register a function as a step of ``scenario``."""

    def register(fn: Callable[[ScenarioContext], None]):
        steps = _steps.setdefault(scenario, [])
        steps[:] = [s for s in steps if s.name != name]
        steps.append(Step(name, order, fn, label))
        return fn

    return register


def scenarios() -> dict[str, Scenario]:
    return dict(_scenarios)


def steps_of(name: str) -> list[Step]:
    return sorted(_steps.get(name, []), key=lambda s: s.order)


def scenario_load(
    name: str,
    *,
    scale: float = 1.0,
    seed: int = 2021,
    progress: Progress | None = None,
    only: list[str] | None = None,
) -> list[str]:
    """Load a scenario; returns the names of the steps that ran (not skipped).

    ``only`` limits the load to steps whose name starts with one of the given prefixes
    (``["registry"]``); later steps build on earlier ones, so prefixes select a head.
    """
    if name not in _scenarios:
        raise ValidationError(
            _("Unknown scenario “%(name)s”. Known: %(known)s.")
            % {"name": name, "known": ", ".join(sorted(_scenarios))}
        )
    if scale <= 0:
        raise ValidationError({"scale": _("The scale must be greater than zero.")})
    scenario = _scenarios[name]
    progress = progress or Progress(enabled=False)
    done = {s.step: s for s in ScenarioStep.objects.filter(event_code=scenario.event_code)}
    for record in done.values():
        if record.scale != scale or record.seed != seed:
            raise ValidationError(
                _(
                    "Event %(event)s was loaded with scale %(scale)s and seed %(seed)s; "
                    "load into a fresh database to use other values."
                )
                % {"event": scenario.event_code, "scale": record.scale, "seed": record.seed}
            )
    ran = []
    for s in steps_of(name):
        if s.name in done:
            continue
        if only and not any(s.name.startswith(prefix) for prefix in only):
            continue
        context = ScenarioContext(
            scenario=name,
            event_code=scenario.event_code,
            scale=scale,
            seed=seed,
            progress=progress,
            rng=random.Random(f"{seed}:{s.name}"),
        )
        with transaction.atomic():
            s.run(context)
            ScenarioStep.objects.create(
                scenario=name, event_code=scenario.event_code, step=s.name, scale=scale, seed=seed
            )
        ran.append(s.name)
    return ran
