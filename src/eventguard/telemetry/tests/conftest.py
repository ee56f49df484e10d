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
    from eventguard.telemetry.testing import forget_process_caches

    forget_process_caches()
    yield
    forget_process_caches()
