"""The registry in a real browser: log in, switch language, register a supervised unit."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from eventguard.core.credit_code import ALPHABET, check_character
from eventguard.core.models import Unit
from eventguard.core.testing import credit_code, make_event, make_member, make_unit, make_zone
from tests.browser.fixtures import log_in

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")


def _with_wrong_check_character(code: str) -> str:
    expected = check_character(code[:17])
    wrong = next(ch for ch in ALPHABET if ch != expected)
    return code[:17] + wrong


def _switch_language(page, label: str) -> None:
    with page.expect_navigation():
        page.locator("form.lang-switch button", has_text=label).click()


def _logout_text(page) -> str:
    return page.locator('form[action="/logout/"] button').inner_text().strip()


def _fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def registry_event():
    event = make_event()
    zone = make_zone(event, code="hall-a", name_zh="一号馆A区", name_en="Hall 1 zone A")
    make_unit(event, zone=zone, name_zh="已登记餐饮点", name_en="Registered Kitchen")
    supervisor = make_member(event, "supervisor", username="browser-supervisor")
    return event, zone, supervisor


def test_log_in_switch_language_and_register_a_unit(page, registry_event, screenshot):
    event, zone, supervisor = registry_event

    # The login page, then the event's overview in the person's language (Chinese).
    page.goto("/login/")
    expect(page.locator('input[name="username"]')).to_be_visible()
    screenshot(page, "login")
    log_in(page, supervisor.username)
    assert "/login/" not in page.url
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    chinese = _logout_text(page)
    assert CJK.search(chinese), f"the logout button reads {chinese!r} in Chinese"
    screenshot(page, "home-zh")

    # Chinese -> English -> Chinese: the same button reads differently each time.
    _switch_language(page, "EN")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert _logout_text(page) == "Log out"
    screenshot(page, "home-en")
    _switch_language(page, "中文")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    assert _logout_text(page) == chinese
    _switch_language(page, "EN")
    assert _logout_text(page) == "Log out"

    # The unit list of the event, with the unit already registered.
    page.goto(f"/e/{event.code}/units/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Supervised units")
    expect(page.get_by_role("link", name="Registered Kitchen")).to_be_visible()
    screenshot(page, "unit-list")
    page.get_by_role("link", name="New unit").click()
    expect(page).to_have_url(re.compile(rf"/e/{event.code}/units/new/$"))

    # A wrong check character: refused, the message next to the field, input kept.
    valid = credit_code()
    invalid = _with_wrong_check_character(valid)
    units_before = Unit.objects.filter(event=event).count()
    page.locator("#id_category").select_option(label="In-venue food business")
    page.locator("#id_name_zh").fill("浏览器测试餐饮点")
    page.locator("#id_name_en").fill("Browser Test Kitchen")
    page.locator("#id_credit_code").fill(invalid)
    page.locator("#id_zone").select_option(value=str(zone.pk))
    page.locator("#id_contact_name").fill("王伟")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    field = page.locator(".field", has=page.locator("#id_credit_code"))
    error = field.locator(".errorlist")
    expect(error).to_be_visible()
    expect(error).to_contain_text(f"Check character is {invalid[-1]} but should be {valid[-1]}.")
    expect(field).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.locator("#id_name_en")).to_have_value("Browser Test Kitchen")
    expect(page.locator("#id_credit_code")).to_have_value(invalid)
    screenshot(page, "invalid-credit-code")
    assert Unit.objects.filter(event=event).count() == units_before

    # The valid code: the new unit's page, then the unit in the list.
    page.locator("#id_credit_code").fill(valid)
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    unit = Unit.objects.get(event=event, credit_code=valid)
    expect(page).to_have_url(re.compile(rf"/e/{event.code}/units/{unit.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Browser Test Kitchen")
    expect(page.locator(".messages")).to_contain_text("Browser Test Kitchen")
    expect(page.locator("dl.props")).to_contain_text(valid)
    expect(page.locator("dl.props")).to_contain_text("浏览器测试餐饮点")
    expect(page.locator("dl.props")).to_contain_text("Hall 1 zone A")
    screenshot(page, "unit-detail")

    page.goto(f"/e/{event.code}/units/")
    row = page.locator("table.data tbody tr", has_text="Browser Test Kitchen")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("In-venue food business")
    expect(row).to_contain_text(valid)
    screenshot(page, "unit-list-after")
    row.get_by_role("link", name="Browser Test Kitchen").click()
    expect(page).to_have_url(re.compile(rf"/e/{event.code}/units/{unit.pk}/$"))


def test_unit_pages_fit_a_phone(phone_page, registry_event, screenshot):
    event, _zone, supervisor = registry_event
    page = phone_page
    log_in(page, supervisor.username)

    page.goto(f"/e/{event.code}/units/")
    expect(page.get_by_role("link", name="已登记餐饮点")).to_be_visible()
    assert _fits_the_screen(page), "the unit list scrolls sideways on a phone"
    screenshot(page, "phone-unit-list")

    page.goto(f"/e/{event.code}/units/new/")
    expect(page.locator("#id_credit_code")).to_be_visible()
    assert _fits_the_screen(page), "the new-unit form scrolls sideways on a phone"
    screenshot(page, "phone-unit-form")


def test_a_person_without_a_role_in_the_event_gets_not_found(page, registry_event):
    event, _zone, _supervisor = registry_event
    other_event = make_event()
    outsider = make_member(other_event, "supervisor", username="browser-outsider")
    log_in(page, outsider.username)
    response = page.goto(f"/e/{event.code}/units/")
    assert response.status == 404
    expect(page.get_by_role("link", name="Registered Kitchen")).to_have_count(0)


def test_a_wrong_password_is_refused_on_the_login_page(page, registry_event):
    _event, _zone, supervisor = registry_event
    page.goto("/login/")
    page.locator('input[name="username"]').fill(supervisor.username)
    page.locator('input[name="password"]').fill("not-the-password")
    with page.expect_navigation():
        page.locator('input[name="password"]').press("Enter")
    assert "/login/" in page.url
    expect(page.locator(".errorlist")).to_be_visible()
    response = page.goto(f"/e/{_event.code}/units/")
    assert "/login/" in page.url and response.ok
