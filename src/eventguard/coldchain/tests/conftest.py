import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _in_english():
    """Messages are asserted in English; one test reads them in Chinese on purpose."""
    with translation.override("en"):
        yield


@pytest.fixture
def site(event):
    from eventguard.coldchain.testing import make_site

    return make_site(event)


@pytest.fixture
def consignment(site):
    from eventguard.coldchain.testing import make_consignment

    return make_consignment(site.event, site.exhibitor)
