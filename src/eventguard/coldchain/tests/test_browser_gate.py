"""The venue gate on a phone, in a real browser: the gate keeper types (or scans) box codes
and sees PASS or REFUSED with the reasons; a pass is recorded as the box's entry."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from eventguard.coldchain.models import BoxState
from eventguard.coldchain.testing import advance, declare_boxes, make_consignment, make_site
from eventguard.core.testing import make_event
from tests.browser.fixtures import log_in

pytestmark = pytest.mark.browser


def _fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def _scan(page, code: str) -> None:
    field = page.get_by_label("Box code or QR")
    expect(field).to_be_focused()  # ready for a scanner that types and presses Enter
    field.fill(code)
    with page.expect_navigation():
        field.press("Enter")


def test_gate_keeper_checks_boxes_on_a_phone(phone_page, screenshot):
    event = make_event()
    site = make_site(event)
    consignment = make_consignment(event, site.exhibitor)
    (ready,) = advance(site, declare_boxes(consignment, 1), BoxState.IN_TRANSIT)
    (waiting,) = advance(site, declare_boxes(consignment, 1), BoxState.DISINFECTED)
    page = phone_page

    log_in(page, site.staff.username)
    page.goto(f"/e/{event.code}/coldchain/gate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Venue gate")
    assert _fits_the_screen(page)
    screenshot(page, "gate ready")

    # A box whose closed loop is complete: PASS, and its entry is recorded.
    _scan(page, ready.epc)  # what the QR label holds
    verdict = page.locator("[data-verdict]")
    expect(verdict).to_have_attribute("data-verdict", "PASS")
    expect(verdict).to_contain_text(ready.code)
    expect(verdict).to_contain_text("Entry recorded.")
    assert _fits_the_screen(page)
    screenshot(page, "pass")
    ready.refresh_from_db()
    assert ready.state == BoxState.ENTERED_VENUE

    # The same box again, and a box still waiting for its NAT samples: REFUSED, with why.
    _scan(page, ready.code)
    expect(verdict).to_have_attribute("data-verdict", "REFUSED")
    expect(verdict).to_contain_text("already entered the venue")
    _scan(page, waiting.code.lower())
    expect(verdict).to_have_attribute("data-verdict", "REFUSED")
    expect(verdict).to_contain_text(f"box {waiting.code}: outer-carton NAT sample missing")
    expect(verdict).to_contain_text(f"box {waiting.code}: smallest-package NAT sample missing")
    assert _fits_the_screen(page)
    screenshot(page, "refused")
    waiting.refresh_from_db()
    assert waiting.state == BoxState.DISINFECTED

    # The box's page tells its journey, also on the phone.
    page.goto(f"/e/{event.code}/coldchain/boxes/{ready.code}/")
    expect(page.locator("ul.timeline")).to_contain_text("Entered the venue")
    assert _fits_the_screen(page)
    screenshot(page, "journey")
