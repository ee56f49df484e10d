"""Must show 1, in a real browser: the command dashboard is open; a trapped-passenger fault
published over MQTT for a lift of the reference scenario appears on it within 2 seconds
(through the real worker: broker -> ingest -> rules -> alarm); it is dispatched to the post
staff, accepted, completed and cleared, and each step is on the alarm's timeline."""

import datetime as dt
import json
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.fixtures import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def scenario_lift():
    """The reference scenario's registry, lifts, devices, rules and chains (a tenth of it),
    a commander, and a post staff on post at one scenario lift now."""
    from eventguard.core.models import Event
    from eventguard.core.scenario import scenario_load
    from eventguard.core.services import person_update
    from eventguard.core.testing import make_member
    from eventguard.equipment.models import Equipment
    from eventguard.equipment.services import post_shift_create
    from eventguard.telemetry.models import Device

    scenario_load(
        "ciie-2021",
        only=["registry", "equipment.registry", "telemetry", "alerts", "command"],
        scale=0.1,
    )
    event = Event.objects.get(code="ciie-2021")
    device = (
        Device.objects.filter(event=event, kind="lift_controller", zone__isnull=False)
        .order_by("code")
        .first()
    )
    lift = Equipment.objects.get(pk=device.subject_id)
    hall = lift.zone
    while hall.kind != "hall" and hall.parent_id:
        hall = hall.parent
    commander = make_member(event, "commander")
    post = make_member(event, "post_staff", zones=[hall])
    for person in (commander, post):
        person_update(actor=None, user=person, language="en")
    now = timezone.now()
    post_shift_create(
        actor=None,
        equipment=lift,
        person=post,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(hours=4),
    )
    return event, device, lift, commander, post


@pytest.fixture
def worker(mqtt_url):
    """The real ingest worker, in a thread, on a topic root of its own."""
    from eventguard.telemetry.worker import IngestWorker, WorkerConfig

    root = f"eg-g-{uuid.uuid4().hex[:8]}"
    config = WorkerConfig(
        url=mqtt_url,
        client_id=f"{root}-worker",
        topic_root=root,
        share_group=root,
        timers=False,
        notify_alarms=False,
        session_expiry=0,
    )
    w = IngestWorker(config)
    thread = threading.Thread(target=w.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not w._connected.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the subscription is acknowledged
    yield root
    w.stop()
    thread.join(timeout=10)


def _publish(mqtt_url: str, topic: str, payload: dict) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    parts = urlsplit(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"eg-g-dev-{uuid.uuid4().hex[:6]}")
    client.connect(parts.hostname, parts.port or 1883)
    client.loop_start()
    client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(timeout=5)
    client.loop_stop()
    client.disconnect()


def test_a_trapped_passenger_from_mqtt_to_done_on_the_dashboard(
    page, new_context, phone_viewport, scenario_lift, worker, mqtt_url, screenshot
):
    from eventguard.telemetry.testing import elevator

    event, device, lift, commander, post = scenario_lift
    log_in(page, commander.username)
    page.goto(f"/e/{event.code}/command/")
    expect(page.get_by_role("heading", name="Command dashboard")).to_be_visible()
    expect(page.locator("#dash-alarms li")).to_have_count(1)  # "No open alarms."
    # The first poll does not wait for the key figures: the next one, a second later, brings them.
    expect(page.locator("#dash-figures a").first).to_be_visible(timeout=4000)
    screenshot(page, "dashboard-quiet")

    dot = page.locator(f'.eq[data-equipment="{lift.pk}"]')
    expect(dot).to_have_attribute("data-status", "normal")
    dot.evaluate("node => { node.dataset.drawnOnce = 'yes'; }")  # gone if the plan is redrawn

    topic = f"{worker}/{event.code}/devices/{device.code}/telemetry"
    _publish(mqtt_url, topic, elevator(int(time.time() * 1000), fault="trapped_away_from_floor"))
    row = page.locator("#dash-alarms li[data-alarm]").filter(has_text=lift.code)
    expect(row).to_be_visible(timeout=2000)  # the promise: within 2 seconds
    expect(dot).to_have_attribute("data-status", "fault", timeout=2000)
    expect(dot).to_have_attribute("data-drawn-once", "yes")  # re-coloured in place
    screenshot(page, "dashboard-alarm")

    row.get_by_role("link", name="Dispatch").click()
    expect(page.get_by_text(f"On post there now: {post}")).to_be_visible()
    page.get_by_label("Instructions").fill("Release the passenger, report the floor")
    page.get_by_role("button", name="Dispatch").click()
    timeline = page.locator("table.data").last
    expect(timeline).to_contain_text("Work order dispatched")
    alarm_url = page.url
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("table.data").last).to_contain_text("Acknowledged")

    staff = new_context(**phone_viewport).new_page()  # the post staff's phone
    log_in(staff, post.username)
    staff.goto(f"/e/{event.code}/work-orders/?mine=true")
    staff.get_by_role("link", name=lift.code).first.click()
    staff.get_by_role("button", name="Accept").click()
    staff.get_by_role("button", name="I am on site").click()
    staff.get_by_label("Note").fill("Passenger released at floor 3, lift stopped for checks")
    staff.get_by_role("button", name="Done").click()
    expect(staff.locator(".subtitle")).to_contain_text("Done")
    screenshot(staff, "work-order-done")

    page.goto(alarm_url)
    page.get_by_label("Why is it cleared?").fill("Maintenance checked the car; back in service")
    page.get_by_role("button", name="Clear").click()
    timeline = page.locator("table.data").last
    for step in (
        "Raised",
        "People notified",
        "Work order dispatched",
        "Acknowledged",
        "Work order accepted",
        "On site",
        "Work order done",
        "Cleared",
    ):
        expect(timeline).to_contain_text(step)
    screenshot(page, "alarm-timeline")
    page.goto(f"/e/{event.code}/command/")
    expect(page.locator("#dash-alarms li[data-alarm]")).to_have_count(0)
