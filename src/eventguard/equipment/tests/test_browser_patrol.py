"""The patrol on a phone, in a real browser: post staff open the URL an equipment's QR label
encodes, walk the checklist, record a finding, and see the hidden danger it became."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from eventguard.core.testing import make_event, make_member, make_zone
from eventguard.equipment.models import Patrol
from eventguard.equipment.testing import (
    PNG_BYTES,
    make_equipment,
    make_key_unit,
    publish_checklists,
)
from eventguard.hazards.models import Hazard
from tests.browser.fixtures import log_in

pytestmark = pytest.mark.browser


def _fits_the_screen(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_post_staff_patrol_from_the_qr_url_to_the_hidden_danger(
    phone_page, screenshot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    event = make_event()
    hall = make_zone(event, kind="hall")
    zone = make_zone(event, parent=hall)
    unit = make_key_unit(event, zone=zone)
    lift = make_equipment(event, kind="lift", zone=zone, user_unit=unit)
    publish_checklists(event)
    post = make_member(event, "post_staff", zones=[hall])
    operator = make_member(event, "unit_operator", unit=unit)
    page = phone_page

    log_in(page, post.username)
    # What the equipment's QR label encodes: the patrol start page of this equipment.
    start_url = reverse("equipment:patrol_start", args=[event.code, lift.pk])
    page.goto(start_url)
    expect(page.locator("h1")).to_contain_text(lift.code)
    assert _fits_the_screen(page)
    screenshot(page, "patrol start")

    with page.expect_navigation():
        page.locator("#start-patrol").click()
    patrol = Patrol.objects.get(equipment=lift)
    assert page.url.endswith(reverse("equipment:patrol_walk", args=[event.code, patrol.pk]))

    # The finding fields of an item appear only once it is answered "fault".
    doors_finding = page.locator('[data-finding="doors"]')
    expect(doors_finding).to_be_hidden()
    page.locator('input[name="answer_doors"][value="fault"]').check()
    expect(doors_finding).to_be_visible()
    page.locator("#id_finding_doors").fill("层门关闭时卡阻，关门力偏大")
    page.locator("#id_grade_doors").select_option("major")
    page.locator("#id_photos_doors").set_input_files(
        files=[{"name": "doors.png", "mimeType": "image/png", "buffer": PNG_BYTES}]
    )
    page.locator('input[name="answer_alarm"][value="ok"]').check()
    expect(page.locator('[data-finding="alarm"]')).to_be_hidden()
    assert _fits_the_screen(page)
    screenshot(page, "checklist with a finding")

    with page.expect_navigation():
        page.locator("#complete-patrol").click()
    expect(page.locator(".msg-warning")).to_be_visible()
    hazard = Hazard.objects.get(source_ref=f"patrol:{patrol.pk}")
    link = page.locator("#patrol-hazards a")
    expect(link).to_contain_text(hazard.code)
    screenshot(page, "patrol done")

    with page.expect_navigation():
        link.click()
    expect(page.locator("h1")).to_contain_text(hazard.code)
    expect(page.locator("#hazard-status")).to_have_class(re.compile("badge-red"))
    photo = page.locator("ul.timeline img").first
    expect(photo).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", photo.element_handle()) > 0
    assert _fits_the_screen(page)
    screenshot(page, "hidden danger")

    hazard.refresh_from_db()
    assert (hazard.status, hazard.grade, hazard.equipment_id) == ("reported", "major", lift.pk)
    assert hazard.reported_by == post and hazard.unit == unit
    assert hazard.photos.count() == 1
    patrol.refresh_from_db()
    assert patrol.status == "completed" and patrol.answers == {"doors": "fault", "alarm": "ok"}
    assert operator  # the unit's operator now sees it in the list (asserted in test_isolation)
