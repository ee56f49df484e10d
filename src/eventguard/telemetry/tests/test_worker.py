"""The worker against a real Mosquitto and a real database, as separate processes.

- a fault published with ``mosquitto_pub`` is a critical alarm in the API within a second
  and clears when a normal status follows;
- every kind of malformed message becomes a dead letter with its reason, and the worker
  keeps going;
- ``kill -9`` of the worker in the middle of a stream: after a restart every message is
  stored, exactly once;
- a broker restart in the middle of a stream: nothing the broker acknowledged is lost;
- two workers split one stream through the shared subscription.

The first two run against the configured broker (``MQTT_URL``); the others against a
Mosquitto of their own that they can restart without disturbing anyone else.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .worker_env import (
    PrivateBroker,
    Publisher,
    WorkerEnv,
    make_tmp,
    new_root,
    status,
    wait_until,
    worker_ready,
)

pytestmark = pytest.mark.mqtt


@pytest.fixture(scope="module")
def deployment(mqtt_url):
    # Outside pytest's own temporary directories, which other test runs may prune.
    base = make_tmp()
    env = WorkerEnv(base, mqtt_url)
    yield env
    env.close()
    if not os.environ.get("EVENTGUARD_KEEP_TEST_DEPLOYMENT"):
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def private_broker():
    if shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists():
        from tests.browser.fixtures import require_or_skip

        require_or_skip(False, "the mosquitto binary is needed to run a private broker")
    directory = make_tmp()
    broker = PrivateBroker(directory)
    yield broker
    broker.stop()
    shutil.rmtree(directory, ignore_errors=True)


def stored(env: WorkerEnv, event: str) -> Counter:
    return Counter(tuple(row) for row in env.counts(event)["rows"])


def api_get(base: str, path: str, token: str) -> dict:
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_a_fault_from_mosquitto_pub_is_a_critical_alarm_in_the_api_within_a_second(deployment):
    mosquitto_pub = shutil.which("mosquitto_pub")
    if mosquitto_pub is None:
        from tests.browser.fixtures import require_or_skip

        require_or_skip(False, "mosquitto_pub (Debian package mosquitto-clients) is needed")
    root, event = new_root(), "must-show"
    deployment.create_event(event, ["lc-17"])
    deployment.command("shell", "-c", SUPERUSER)
    token = deployment.command("token", "create", "--user", "egf-commander").strip()
    base = deployment.start_server()
    worker = deployment.start_worker(topic_root=root, client_id=f"{root}-w")
    worker_ready(worker)
    broker = urlsplit(deployment.mqtt_url)
    topic = f"{root}/{event}/devices/lc-17/telemetry"

    def publish(payload: dict) -> float:
        subprocess.run(
            [
                mosquitto_pub,
                "-h",
                broker.hostname,
                "-p",
                str(broker.port or 1883),
                "-q",
                "1",
                "-t",
                topic,
                "-m",
                json.dumps(payload),
            ],
            check=True,
            timeout=10,
        )
        return time.monotonic()

    def critical_alarms(state: str) -> list:
        query = f"/api/alarms?event={event}&severity=critical&state={state}"
        return api_get(base, query, token)["items"]

    published = publish(status(1, fault="trapped_away_from_floor"))
    found = wait_until(lambda: critical_alarms("active"), seconds=5, interval=0.02)
    elapsed = time.monotonic() - published
    assert found, "no alarm"
    assert found[0]["rule"]["code"] == "lift-trapped"
    assert found[0]["details"]["fault"] == "trapped_away_from_floor"
    assert elapsed < 1.0, f"the alarm took {elapsed:.2f} s"

    publish(status(2))
    cleared = wait_until(lambda: critical_alarms("cleared"), seconds=5, interval=0.05)
    assert cleared and cleared[0]["id"] == found[0]["id"]
    assert cleared[0]["cleared_automatically"] is True
    assert critical_alarms("active") == []
    worker.send_signal(signal.SIGTERM)
    worker.wait(30)


def test_live_screens_are_told_of_an_alarm_as_it_is_raised_and_cleared(deployment):
    """The worker tells ``<root>/<event>/alarms`` of each alarm change right after its
    commit: what a command screen listens to."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    root, event = new_root(), "notices"
    deployment.create_event(event, ["lc-3"])
    worker = deployment.start_worker(topic_root=root, client_id=f"{root}-w")
    worker_ready(worker)
    notices: list[dict] = []
    broker = urlsplit(deployment.mqtt_url)
    screen = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{root}-screen")
    screen.on_message = lambda _c, _u, message: notices.append(json.loads(message.payload))
    screen.connect(broker.hostname, broker.port or 1883)
    screen.subscribe(f"{root}/{event}/alarms", qos=0)
    screen.loop_start()
    publisher = Publisher(deployment.mqtt_url, root, event)
    try:
        time.sleep(0.5)  # the screen's subscription in place
        before = time.time()
        publisher.send("lc-3", status(1, fault="trapped_at_floor"))
        assert wait_until(lambda: notices, seconds=5, interval=0.02), "no notice"
        raised = notices[0]
        assert raised["change"] == "raised"
        assert before <= raised["at"] <= time.time()
        publisher.send("lc-3", status(2))
        assert wait_until(lambda: len(notices) >= 2, seconds=5, interval=0.02)
        cleared = notices[1]
        assert cleared["change"] == "cleared"
        assert cleared["alarm_id"] == raised["alarm_id"]
    finally:
        publisher.close()
        screen.loop_stop()
        screen.disconnect()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


SUPERUSER = r"""
from eventguard.core.models import User
from eventguard.core import services
if not User.objects.filter(username="egf-commander").exists():
    user = services.person_create(actor=None, username="egf-commander", language="en")
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
print("{}")
"""


def test_every_malformed_message_is_a_dead_letter_with_its_reason(deployment):
    root, event = new_root(), "malformed"
    deployment.create_event(event, ["lc-1"])
    worker = deployment.start_worker(topic_root=root, client_id=f"{root}-w")
    worker_ready(worker)
    publisher = Publisher(deployment.mqtt_url, root, event)
    far_future = int((time.time() + 3600) * 1000)
    try:
        publisher.send("lc-1", status(1))
        publisher.send("lc-1", b"not json {")
        publisher.send("lc-1", json.dumps({"ts": "soon", "seq": "two", "kind": 3}).encode())
        publisher.send("nobody", status(1))
        publisher.send("lc-1", json.dumps({**status(2), "pad": "x" * 9000}).encode())
        publisher.send("lc-1", json.dumps({**status(1, fault="power_cut")}).encode())
        publisher.send("lc-1", json.dumps({**status(3), "ts": far_future}).encode())
        publisher.send("lc-1", status(4))
        expected = {
            "not_json": 1,
            "invalid": 1,
            "unknown_device": 1,
            "oversized": 1,
            "replayed_seq": 1,
            "future_timestamp": 1,
        }
        counts = wait_until(
            lambda: (
                (c := deployment.counts(event))["stats"]["dead_letters"]["by_reason"] == expected
                and len(c["rows"]) == 2
                and c
            ),
            seconds=30,
            interval=0.5,
        )
        assert counts, deployment.counts(event)
        assert sorted(tuple(r) for r in counts["rows"]) == [("lc-1", 1), ("lc-1", 4)]
        assert worker.poll() is None, "the worker is still running"
    finally:
        publisher.close()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def stream(
    publisher: Publisher,
    devices: list[str],
    per_device: int,
    rate: float,
    start: int = 1,
    during=None,
) -> int:
    """Publish ``per_device`` messages to each device at ``rate`` messages/s; ``during``
    is called once, half-way."""
    total = per_device * len(devices)
    sent = 0
    began = time.monotonic()
    for seq in range(start, start + per_device):
        for device in devices:
            publisher.send(device, status(seq))
            sent += 1
            if during and sent == total // 2:
                during()
            delay = began + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    return total


def test_kill_9_of_the_worker_mid_stream_loses_nothing_and_stores_nothing_twice(
    deployment, private_broker
):
    root, event = new_root(), "kill-9"
    devices = [f"lc-{i}" for i in range(10)]
    deployment.create_event(event, devices)
    worker = deployment.start_worker(topic_root=root, client_id=f"{root}-w", url=private_broker.url)
    worker_ready(worker)
    publisher = Publisher(private_broker.url, root, event)
    restarted = {}

    def kill_and_restart():
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        time.sleep(0.5)
        restarted["worker"] = deployment.start_worker(
            topic_root=root, client_id=f"{root}-w", url=private_broker.url
        )

    try:
        total = stream(publisher, devices, 200, rate=800, during=kill_and_restart)
        assert wait_until(lambda: len(publisher.acknowledged) == total, 30)
        rows = wait_until(
            lambda: (r := stored(deployment, event)) and sum(r.values()) >= total and r,
            seconds=120,
            interval=1,
        )
        assert rows, f"stored {sum(stored(deployment, event).values())} of {total}"
        assert set(rows) == publisher.acknowledged, "every acknowledged message is stored"
        assert max(rows.values()) == 1, "and none twice"
    finally:
        publisher.close()
        for proc in (restarted.get("worker"),):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)


def test_a_broker_restart_mid_stream_loses_nothing_acknowledged(deployment, private_broker):
    """One worker with a plain subscription (Mosquitto 2.0 restores plain subscriptions of
    a persistent session after a restart, but not shared ones: see the next test)."""
    root, event = new_root(), "broker-restart"
    devices = [f"lc-{i}" for i in range(10)]
    deployment.create_event(event, devices)
    worker = deployment.start_worker(
        topic_root=root, client_id=f"{root}-w", url=private_broker.url, shared=False
    )
    worker_ready(worker)
    publisher = Publisher(private_broker.url, root, event)
    try:
        total = stream(publisher, devices, 150, rate=600, during=private_broker.restart)
        assert wait_until(lambda: len(publisher.acknowledged) == total, 60)
        rows = wait_until(
            lambda: (r := stored(deployment, event)) and publisher.acknowledged <= set(r) and r,
            seconds=120,
            interval=1,
        )
        missing = publisher.acknowledged - set(stored(deployment, event))
        assert rows, f"{len(missing)} acknowledged but not stored, e.g. {sorted(missing)[:5]}"
        assert max(rows.values()) == 1, "nothing stored twice"
        assert worker.poll() is None, "the worker reconnected and kept going"
    finally:
        publisher.close()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def test_a_broker_restart_with_shared_subscriptions_loses_nothing_the_worker_took(
    deployment, private_broker
):
    """Workers on a shared subscription: what was in flight to the worker when the broker
    went down comes again after the restart and is stored once. (Mosquitto 2.0 drops
    messages published to a shared subscription between its restart and the workers'
    reconnection, a device's own retransmission of what it had in flight included, so the
    devices here have nothing in flight and pause while the broker restarts.)"""
    root, event = new_root(), "broker-restart-shared"
    devices = [f"lc-{i}" for i in range(10)]
    deployment.create_event(event, devices)
    worker = deployment.start_worker(topic_root=root, client_id=f"{root}-w", url=private_broker.url)
    worker_ready(worker)
    publisher = Publisher(private_broker.url, root, event)
    try:
        first = stream(publisher, devices, 60, rate=2000)
        assert wait_until(lambda: len(publisher.acknowledged) == first, 30)
        private_broker.restart(pause=0.2)
        assert wait_until(
            lambda: Path(worker.log_path).read_text().count("session present: True") >= 1, 60
        ), Path(worker.log_path).read_text()
        time.sleep(0.5)
        second = stream(publisher, devices, 60, rate=600, start=61)
        assert wait_until(lambda: len(publisher.acknowledged) == first + second, 60)
        rows = wait_until(
            lambda: (r := stored(deployment, event)) and publisher.acknowledged <= set(r) and r,
            seconds=120,
            interval=1,
        )
        missing = publisher.acknowledged - set(stored(deployment, event))
        assert rows, f"{len(missing)} acknowledged but not stored, e.g. {sorted(missing)[:5]}"
        assert max(rows.values()) == 1
    finally:
        publisher.close()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


def test_two_workers_split_one_stream(deployment, private_broker):
    root, event = new_root(), "shared"
    devices = [f"lc-{i}" for i in range(10)]
    deployment.create_event(event, devices)
    workers = [
        deployment.start_worker(topic_root=root, client_id=f"{root}-w{i}", url=private_broker.url)
        for i in (1, 2)
    ]
    for worker in workers:
        worker_ready(worker)
    publisher = Publisher(private_broker.url, root, event)
    try:
        total = stream(publisher, devices, 100, rate=1000)
        rows = wait_until(
            lambda: (r := stored(deployment, event)) and sum(r.values()) >= total and r, 60, 1
        )
        assert rows and len(rows) == total and max(rows.values()) == 1
    finally:
        publisher.close()
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
    shares = []
    for worker in workers:
        text = Path(worker.log_path).read_text()
        line = [x for x in text.splitlines() if x.startswith("worker stopped:")][-1]
        shares.append(int(line.split()[2]))
    assert sum(shares) >= total and all(share > 0 for share in shares), shares
