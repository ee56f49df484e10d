"""The unified-command part of the reference scenario: the escalation chains."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from eventguard.core.scenario import ScenarioContext, step
from eventguard.core.scenarios.ciie2021 import SCENARIO

from .services import escalation_chains_install_defaults


@step(SCENARIO, "command.escalation", order=82, label=_("Escalation chains"))
def load_escalation_chains(ctx: ScenarioContext) -> None:
    ctx.progress.start(str(_("Escalation chains")), 1)
    escalation_chains_install_defaults(actor=ctx.actor, event=ctx.event)
    ctx.progress.finish()
