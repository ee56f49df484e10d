import pytest


@pytest.fixture
def site(event):
    from eventguard.coldchain.testing import make_site

    return make_site(event)


@pytest.fixture
def consignment(site):
    from eventguard.coldchain.testing import make_consignment

    return make_consignment(site.event, site.exhibitor)
