"""System checks of unified command, shown by ``eventguard check`` and before ``migrate``."""

from django.conf import settings
from django.core.checks import Warning, register


@register()
def base_url_check(app_configs, **kwargs):
    """A production server without its public address e-mails links that lead nowhere."""
    if settings.EMBEDDED or settings.EVENTGUARD_BASE_URL:
        return []
    return [
        Warning(
            "EVENTGUARD_BASE_URL is not set (and EVENTGUARD_CSRF_TRUSTED_ORIGINS does not name "
            "exactly one origin): e-mails carry their link as a bare path (/e/<event>/...).",
            hint="Set EVENTGUARD_BASE_URL to the platform's public address, like "
            "https://guard.example.gov.cn.",
            id="eventguard.W001",
        )
    ]
