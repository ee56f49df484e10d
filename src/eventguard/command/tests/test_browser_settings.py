"""On a phone: a commander adds a webhook through the command settings, copies its secret
once, and finds it in the list."""

import pytest
from playwright.sync_api import expect

from tests.browser.fixtures import log_in

pytestmark = pytest.mark.browser


def test_a_commander_adds_a_webhook_on_a_phone(phone_page, screenshot):
    from eventguard.command.models import Webhook
    from eventguard.core.services import person_update
    from eventguard.core.testing import make_event, make_member

    event = make_event()
    commander = make_member(event, "commander")
    person_update(actor=None, user=commander, language="en")
    page = phone_page
    log_in(page, commander.username)

    page.goto(f"/e/{event.code}/command/settings/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Escalation chains")
    expect(page.locator("#chain-critical")).to_contain_text("Default chain")
    screenshot(page, "chains")
    page.get_by_role("link", name="Webhooks", exact=True).click()
    page.get_by_role("link", name="Add a webhook").click()

    page.get_by_label("Name").fill("Control room")
    page.get_by_label("URL").fill("not an address")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".errorlist")).to_contain_text("Enter a valid URL")
    assert not Webhook.objects.filter(event=event).exists()

    page.get_by_label("URL").fill("https://control.example.org/in")
    page.get_by_label("Critical").check()
    page.get_by_role("button", name="Save").click()
    hook = Webhook.objects.get(event=event, name="Control room")
    expect(page.locator("#webhook-secret")).to_have_value(hook.secret)
    screenshot(page, "secret")

    page.get_by_role("link", name="Done").click()
    row = page.locator("#webhooks li", has_text="Control room")
    expect(row).to_contain_text("Critical")
    expect(row).to_contain_text("Active")
    expect(page.locator("body")).not_to_contain_text(hook.secret)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px phone"
    screenshot(page, "list")
