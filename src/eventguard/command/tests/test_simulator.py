"""The simulator: every message it makes passes the telemetry contract; injected faults
raise alarms through the real ingest; messages reach a real MQTT broker on the contract's
topics; `eventguard simulate` refuses what it cannot do."""

import json
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from eventguard.alerts.models import Alarm
from eventguard.command.simulator import IngestSink, MqttSink, Simulator, event_devices
from eventguard.telemetry import contract
from eventguard.telemetry.testing import make_device


@pytest.fixture
def fleet(world):
    from eventguard.core.testing import make_unit

    warehouse = make_unit(world.event, category="coldchain_warehouse")
    kitchen = make_unit(world.event, category="group_meal_enterprise")
    make_device(world.event, subject=warehouse, code="tl-1")
    make_device(world.event, subject=kitchen, kind="kitchen_camera", code="cam-1")
    return event_devices(world.event)


def test_every_message_passes_the_contract_and_seq_increases(fleet):
    sim = Simulator(fleet, rate=100, fault_rate=0.2, seed=3)
    seen: dict[str, int] = {}
    now = timezone.now()
    for code, payload in sim.batch(400):
        reading = contract.check(payload, now=now, max_skew=contract_skew())
        assert reading is not None
        assert payload["seq"] > seen.get(code, 0)
        seen[code] = payload["seq"]
    assert set(seen) == {code for code, _kind in fleet}
    assert sim.stats.faults > 0


def contract_skew():
    import datetime as dt

    return dt.timedelta(minutes=5)


def test_an_injected_trapped_passenger_raises_the_alarm_through_ingest(world, fleet):
    sim = Simulator(fleet, rate=100, fault_rate=0.0, seed=1)
    sim.inject(world.device_a.code, "trapped_away_from_floor")
    sink = IngestSink(event_code=world.event.code)
    sink(sim.batch(len(fleet)))
    alarm = Alarm.objects.get(rule__code="lift-trapped")
    assert alarm.subject_id == world.lift_a.pk and alarm.state == "active"


def test_the_simulator_publishes_on_the_contract_topics_of_a_real_broker(world, fleet, mqtt_url):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    root = f"eg-g-{uuid.uuid4().hex[:6]}"
    got: list[tuple[str, dict]] = []
    ready, done = threading.Event(), threading.Event()
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{root}-listener")

    def on_message(client, userdata, message):
        got.append((message.topic, json.loads(message.payload)))
        if len(got) >= len(fleet):
            done.set()

    listener.on_message = on_message
    listener.on_subscribe = lambda *a: ready.set()
    parts = urlsplit(mqtt_url)
    listener.connect(parts.hostname, parts.port or 1883)
    listener.subscribe(f"{root}/#", qos=1)
    listener.loop_start()
    try:
        assert ready.wait(5)
        sink = MqttSink(
            mqtt_url, event_code=world.event.code, topic_root=root, client_id=f"{root}-sim"
        )
        Simulator(fleet, rate=40, seed=2).run(sink, duration=len(fleet) / 40 + 0.6)
        sink.close()
        assert done.wait(5)
    finally:
        listener.loop_stop()
        listener.disconnect()
    topics = {t for t, _p in got}
    assert f"{root}/{world.event.code}/devices/{world.device_a.code}/telemetry" in topics
    assert all(p["kind"] in ("elevator.status", "temperature", "camera.event") for _t, p in got)


def test_simulate_refuses_an_unknown_event_and_http_without_credentials(world, fleet):
    with pytest.raises(CommandError, match="No event"):
        call_command("simulate", "--event", "nope", "--duration", "0.1")
    with pytest.raises(CommandError, match="--secrets"):
        call_command(
            "simulate",
            "--event",
            world.event.code,
            "--http",
            "http://127.0.0.1:9",
            "--duration",
            "0.1",
        )
