"""The worker's lean MQTT receive path reads PUBLISH packets exactly as paho does, and the
pieces of the worker that need no broker: topics, acknowledgement by connection."""

import struct

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion

from eventguard.telemetry.worker import (
    IngestWorker,
    Received,
    WorkerConfig,
    lean_client_class,
    parse_topic,
)


def publish_packet(topic: bytes, payload: bytes, *, qos: int, mid: int, v5: bool, props=b"\x00"):
    body = struct.pack("!H", len(topic)) + topic
    if qos:
        body += struct.pack("!H", mid)
    if v5:
        body += props
    body += payload
    return 0x30 | (qos << 1), body


class Recorder:
    def __init__(self, v5: bool):
        self.messages = []
        self.client = lean_client_class()(
            CallbackAPIVersion.VERSION2,
            client_id="egf-test-lean",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            manual_ack=True,
        )
        self.client.on_message = lambda c, u, m: self.messages.append(m)

    def feed(self, command: int, packet: bytes):
        self.client._in_packet = {"command": command, "packet": bytearray(packet)}
        return self.client._handle_publish()


@pytest.mark.parametrize("v5", [True, False])
@pytest.mark.parametrize("qos", [0, 1])
def test_the_lean_path_reads_what_paho_reads(v5, qos):
    topic = b"eventguard/ciie-2021/devices/lc-17/telemetry"
    payload = b'{"ts": 1636080000000, "seq": 5, "kind": "temperature", "celsius": -19.5}'
    command, packet = publish_packet(topic, payload, qos=qos, mid=4242, v5=v5)
    recorder = Recorder(v5)
    recorder.feed(command, packet)
    (message,) = recorder.messages
    assert isinstance(message, Received)
    expected = _packet.decode_publish(command, bytes(packet), mqtt.MQTTv5 if v5 else mqtt.MQTTv311)
    assert message.topic == expected.topic.decode()
    assert message.payload == expected.payload
    assert message.mid == expected.mid and message.qos == expected.qos == qos


def test_a_publish_with_properties_goes_through_paho_itself():
    topic = b"eventguard/e/devices/d/telemetry"
    # a User Property: id 0x26, name "a", value "b"
    props = bytes([0x26]) + struct.pack("!H", 1) + b"a" + struct.pack("!H", 1) + b"b"
    command, packet = publish_packet(
        topic, b"{}", qos=1, mid=7, v5=True, props=bytes([len(props)]) + props
    )
    recorder = Recorder(True)
    recorder.feed(command, packet)
    (message,) = recorder.messages
    assert not isinstance(message, Received)
    assert message.topic == topic.decode() and message.payload == b"{}" and message.mid == 7


def test_acknowledgements_of_a_batch_are_one_write_of_puback_packets():
    recorder = Recorder(True)
    recorder.client.ack_many([1, 2, 65535])
    (queued,) = list(recorder.client._out_packet)
    assert bytes(queued["packet"]) == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\xff\xff"


@pytest.mark.parametrize(
    "topic, expected",
    [
        ("eventguard/ciie-2021/devices/lc-17/telemetry", ("ciie-2021", "lc-17")),
        ("eventguard/ciie-2021/devices/lc-17/status", None),
        ("other/ciie-2021/devices/lc-17/telemetry", None),
        ("eventguard//devices/lc-17/telemetry", None),
        ("eventguard/ciie-2021/devices/lc-17/telemetry/extra", None),
    ],
)
def test_topics_follow_the_contract(topic, expected):
    assert parse_topic(topic, "eventguard") == expected


def test_messages_taken_before_a_reconnection_are_not_acknowledged_on_the_new_one():
    worker = IngestWorker(WorkerConfig(url="mqtt://127.0.0.1:1", client_id="egf-test-gen"))
    acked = []
    worker.client.ack_many = lambda mids: acked.extend(mids)
    old = Received(b"t", b"{}", 11, 1, False, False)
    worker._on_message(worker.client, None, old)
    worker._generation += 2  # disconnected and connected again
    new = Received(b"t", b"{}", 12, 1, False, False)
    worker._on_message(worker.client, None, new)
    worker._ack(list(worker._inbox))
    assert acked == [12], "the broker delivers 11 again on the new connection"


def test_the_subscription_is_shared_unless_no_group_is_given():
    config = WorkerConfig(url="mqtt://x", client_id="w", topic_root="eg", share_group="g")
    assert config.subscription == "$share/g/eg/+/devices/+/telemetry"
    config.share_group = ""
    assert config.subscription == "eg/+/devices/+/telemetry"


def test_a_slow_batch_is_logged_with_where_its_time_went(caplog):
    from eventguard.telemetry.worker import _log_if_slow

    with caplog.at_level("WARNING", logger="eventguard.worker"):
        _log_if_slow(500, {"devices": 0.01, "write": 0.05, "alarms": 0.02, "commit": 0.01})
        assert caplog.records == []
        _log_if_slow(500, {"devices": 0.01, "write": 0.05, "alarms": 2.5, "commit": 0.01})
    [record] = caplog.records
    assert record.getMessage() == (
        "storing a batch of 500 took 2.570 s "
        "(devices 0.010 s, write 0.050 s, alarms 2.500 s, commit 0.010 s)"
    )


def test_a_slow_batch_says_how_many_alarms_it_touched(caplog):
    from eventguard.alerts.models import Alarm
    from eventguard.alerts.services import ApplyResult
    from eventguard.telemetry.worker import _log_if_slow

    alarms = ApplyResult(raised=[Alarm()], repeated=[Alarm(), Alarm()], cleared=[])
    with caplog.at_level("WARNING", logger="eventguard.worker"):
        _log_if_slow(800, {"write": 0.05, "endings": 1.2, "alarms": 0.9}, alarms)
    [record] = caplog.records
    assert record.getMessage() == (
        "storing a batch of 800 took 2.150 s (write 0.050 s, endings 1.200 s, alarms 0.900 s;"
        " alarms raised 1, repeated 2, cleared 0)"
    )


def _watch(after: float):
    import threading

    from eventguard.telemetry.worker import _Watchdog

    watchdog = _Watchdog(after)
    stop = threading.Event()
    watcher = threading.Thread(target=watchdog.run, args=(stop,), name="watchdog")
    watcher.start()
    return watchdog, stop, watcher


def test_a_batch_stuck_in_its_store_logs_where_every_thread_is(caplog):
    """While a batch is stuck, the log says where: the stalled thread's own line included."""
    import time

    watchdog, stop, watcher = _watch(0.1)
    try:
        with caplog.at_level("WARNING", logger="eventguard.worker"):
            with watchdog.watching(7):
                time.sleep(0.05)  # a batch stored in time: nothing said
            assert caplog.records == []
            with watchdog.watching(500):
                time.sleep(0.3)  # stuck here
    finally:
        stop.set()
        watcher.join()
    [record] = caplog.records  # under 4 times the threshold: looked at once
    message = record.getMessage()
    assert message.startswith("a batch of 500 has been storing for 0.")
    assert "[MainThread] (S sleeping in " in message  # what the kernel says it is doing
    assert "time.sleep(0.3)  # stuck here" in message


@pytest.mark.django_db
def test_a_stuck_batch_on_postgresql_shows_what_the_database_sessions_wait_for():
    from django.db import connection

    from eventguard.telemetry.worker import _database_sessions

    sessions = _database_sessions()
    if connection.vendor != "postgresql":
        assert sessions == ""
        return
    assert sessions.startswith("\n[database]\n")
    # The server's own processes are listed too: a checkpoint or the log writer at work.
    assert "checkpointer: -, waiting for " in sessions


def test_a_long_stall_is_logged_again_as_it_lasts_even_right_after_another(caplog):
    """A short stall, then at once a long one: the long one's first look is skipped (no
    flood of logs), but as it lasts it is logged, at 4 times the threshold and then each
    time its age doubles, with where the stalled thread is each time."""
    import time

    watchdog, stop, watcher = _watch(0.1)
    try:
        with caplog.at_level("WARNING", logger="eventguard.worker"):
            with watchdog.watching(50):
                time.sleep(0.15)  # short stall
            with watchdog.watching(1150):
                time.sleep(1.0)  # long stall
    finally:
        stop.set()
        watcher.join()
    messages = [record.getMessage() for record in caplog.records]
    assert [m.split(" has been")[0] for m in messages] == [
        "a batch of 50",
        "a batch of 1150",  # at 0.4 s
        "a batch of 1150",  # at 0.8 s
    ]
    ages = [float(m.split("storing for ")[1].split(" s;")[0]) for m in messages[1:]]
    assert ages[0] >= 0.4 and ages[1] >= 0.8
    assert all("time.sleep(1.0)  # long stall" in m for m in messages[1:])


@pytest.mark.django_db
def test_the_ingest_says_where_a_batch_spent_its_time(event):
    from eventguard.core.testing import make_unit
    from eventguard.telemetry.testing import ingest, make_device, temperature

    device = make_device(event, subject=make_unit(event, category="coldchain_warehouse"))[0]
    result = ingest(device, temperature(1, -20))
    assert list(result.timings) == [
        "devices",
        "write",
        "update",
        "endings",
        "alarms",
        "other",
        "commit",
    ]
    assert all(seconds >= 0 for seconds in result.timings.values())
