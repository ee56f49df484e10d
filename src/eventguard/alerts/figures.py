"""The alerts app's figures: open alarms, and the critical ones among them."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from eventguard.core.figures import register

from .models import OPEN_STATES, Alarm, Severity


def _alarms_url(event, query: str) -> str:
    return reverse("alerts:alarm_list", args=[event.code]) + query


register(
    "alerts.open_alarms",
    label=_("Open alarms"),
    compute=lambda event: Alarm.objects.filter(event=event, state__in=OPEN_STATES).count(),
    records_url=lambda event: _alarms_url(event, "?state=open"),
    order=710,
)
register(
    "alerts.open_critical_alarms",
    label=_("Open critical alarms"),
    compute=lambda event: Alarm.objects.filter(
        event=event, state__in=OPEN_STATES, severity=Severity.CRITICAL
    ).count(),
    records_url=lambda event: _alarms_url(event, "?state=open&severity=critical"),
    order=711,
)
