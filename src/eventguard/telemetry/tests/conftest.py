import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English here (the Chinese catalogue is checked on its own)."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches():
    """The process caches (rule book, device directory) must not outlive a test's rows."""
    from eventguard.alerts.engine import forget_rulebook
    from eventguard.telemetry import bulk
    from eventguard.telemetry.services import directory

    forget_rulebook()
    directory.clear()
    bulk._registrations.clear()
    yield
    forget_rulebook()
    directory.clear()
    bulk._registrations.clear()
