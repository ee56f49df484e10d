import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in English here (the Chinese catalogue is checked on its own)."""
    with translation.override("en"):
        yield
