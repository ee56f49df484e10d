"""The alerts part of the reference scenario: the event's rule set."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from eventguard.core.scenario import ScenarioContext, step
from eventguard.core.scenarios.ciie2021 import SCENARIO

from .services import rules_install_defaults


@step(SCENARIO, "alerts.rules", order=81, label=_("Alarm rules"))
def load_rules(ctx: ScenarioContext) -> None:
    ctx.progress.start(str(_("Alarm rules")), 1)
    rules_install_defaults(actor=ctx.actor, event=ctx.event)
    ctx.progress.finish()
