"""The telemetry simulator: realistic messages for an event's devices, with faults injected.

Lift and escalator controllers report their run state with traffic (floor, direction, door,
people in the car) and now and then a fault that holds for a while and then clears;
temperature loggers follow a slow daily curve with noise and now and then a door-open
excursion; kitchen cameras report a detection now and then. Every message follows the
telemetry contract (``telemetry/contract.py``): ``{"ts", "seq", "kind", ...}`` with ``seq``
increasing per device (started from the clock, so runs never reuse one).

Where the messages go is a sink: MQTT (``<root>/<event>/devices/<device>/telemetry``, QoS 1,
what devices do), the HTTP batch endpoint (HTTP Basic per device), or the ingest service in
this process (``eventguard demo``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import math
import random
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

logger = logging.getLogger("eventguard.simulator")

LIFT_FAULTS = [
    "trapped_away_from_floor",
    "trapped_at_floor",
    "door_fault",
    "stopped_outside_door_zone",
    "safety_circuit_open",
    "power_cut",
]
ESCALATOR_FAULTS = ["handrail_underspeed", "brake_fault", "missing_step", "escalator_overspeed"]
DETECTIONS = ["no_chef_hat", "no_mask", "no_uniform", "smoking", "phone_use", "uncovered_bin"]


@dataclass
class SimDevice:
    code: str
    kind: str
    seq: int
    floor: int = 1
    top: int = 6
    direction: str = "none"
    base_celsius: float = 4.0
    fault: str | None = None
    fault_left: int = 0  # messages the injected fault still holds for
    excursion: float = 0.0
    phase: float = 0.0


@dataclass
class Stats:
    sent: int = 0
    faults: int = 0
    errors: int = 0
    by_kind: dict = field(default_factory=dict)


class Simulator:
    """Messages for ``devices`` at ``rate`` per second in all, faults at ``fault_rate``
    (the chance that a message of a healthy controller starts a fault)."""

    def __init__(
        self,
        devices: list[tuple[str, str]],
        *,
        rate: float = 50.0,
        fault_rate: float = 0.002,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.rng = random.Random(seed)
        self.clock = clock
        self.rate = rate
        self.fault_rate = fault_rate
        start = int(clock() * 1000)
        self.devices = [self._new(code, kind, start) for code, kind in sorted(devices)]
        self.stats = Stats()
        self._next = 0

    def _new(self, code: str, kind: str, start: int) -> SimDevice:
        d = SimDevice(code=code, kind=kind, seq=start)
        d.top = self.rng.randint(3, 12)
        d.floor = self.rng.randint(1, d.top)
        d.base_celsius = (
            self.rng.choice([-18.0, 2.5, 4.0, 5.0]) if kind == "temperature_logger" else 0
        )
        d.phase = self.rng.random() * 2 * math.pi
        return d

    # ------------------------------------------------------------ messages

    def message(self, device: SimDevice, now: float) -> dict:
        device.seq += 1
        base = {"ts": int(now * 1000), "seq": device.seq}
        if device.kind in ("lift_controller", "escalator_controller"):
            return {**base, **self._controller(device, now)}
        if device.kind == "temperature_logger":
            return {**base, **self._temperature(device, now)}
        if device.kind == "kitchen_camera":
            return {**base, **self._camera(device)}
        return {**base, "kind": "temperature", "celsius": round(20 + self.rng.gauss(0, 0.3), 2)}

    def _controller(self, d: SimDevice, now: float) -> dict:
        lift = d.kind == "lift_controller"
        if d.fault is None and self.rng.random() < self.fault_rate:
            d.fault = self.rng.choice(LIFT_FAULTS if lift else ESCALATOR_FAULTS)
            d.fault_left = self.rng.randint(5, 30)
            self.stats.faults += 1
        if d.fault is not None:
            msg = {
                "kind": "elevator.status",
                "run_state": "stopped",
                "direction": "none",
                "door": "closed",
                "speed": 0.0,
                "fault": d.fault,
                "person_in_car": d.fault.startswith("trapped"),
                "at_floor_level": d.fault == "trapped_at_floor",
            }
            if lift:
                msg["floor"] = d.floor
            d.fault_left -= 1
            if d.fault_left <= 0:
                d.fault = None
            return msg
        # Traffic follows the hour of the day: busy from 9 to 17.
        hour = dt.datetime.fromtimestamp(now).hour
        busy = 0.8 if 9 <= hour < 17 else 0.3
        if not lift:
            return {
                "kind": "elevator.status",
                "run_state": "running",
                "direction": "up" if d.phase < math.pi else "down",
                "speed": 0.5,
                "person_in_car": self.rng.random() < busy,
            }
        if d.direction == "none" and self.rng.random() < busy:
            d.direction = "up" if self.rng.random() < 0.5 and d.floor < d.top else "down"
        if d.direction == "up":
            d.floor = min(d.top, d.floor + 1)
        elif d.direction == "down":
            d.floor = max(1, d.floor - 1)
        if d.floor in (1, d.top) or self.rng.random() < 0.3:
            d.direction = "none"
        moving = d.direction != "none"
        return {
            "kind": "elevator.status",
            "run_state": "running",
            "direction": d.direction,
            "door": "closed" if moving else self.rng.choice(["open", "closed"]),
            "speed": 1.75 if moving else 0.0,
            "floor": d.floor,
            "at_floor_level": not moving,
            "person_in_car": self.rng.random() < busy,
        }

    def _temperature(self, d: SimDevice, now: float) -> dict:
        if d.excursion <= 0 and self.rng.random() < self.fault_rate:
            d.excursion = self.rng.uniform(6, 14)  # a door left open
            self.stats.faults += 1
        daily = 0.6 * math.sin(2 * math.pi * (now % 86400) / 86400 + d.phase)
        celsius = d.base_celsius + daily + self.rng.gauss(0, 0.15) + d.excursion
        d.excursion = max(0.0, d.excursion * 0.9 - 0.2) if d.excursion > 0 else 0.0
        return {
            "kind": "temperature",
            "celsius": round(celsius, 2),
            "humidity": round(min(100, max(0, 65 + self.rng.gauss(0, 3))), 1),
        }

    def _camera(self, d: SimDevice) -> dict:
        if self.rng.random() < self.fault_rate:
            self.stats.faults += 1
            return {
                "kind": "camera.event",
                "detection": self.rng.choice(DETECTIONS),
                "confidence": round(self.rng.uniform(0.8, 0.99), 2),
            }
        return {"kind": "camera.event", "detection": "no_mask", "confidence": 0.1}

    def batch(self, count: int) -> list[tuple[str, dict]]:
        """The next ``count`` messages, the devices taken in turn."""
        now = self.clock()
        out = []
        for _ in range(count):
            if not self.devices:
                break
            device = self.devices[self._next % len(self.devices)]
            self._next += 1
            out.append((device.code, self.message(device, now)))
        return out

    def inject(self, code: str, fault: str, hold: int = 30) -> None:
        """Make one controller report ``fault`` from its next message on."""
        for d in self.devices:
            if d.code == code:
                d.fault, d.fault_left = fault, hold
                return
        raise KeyError(code)

    def run(
        self,
        sink: Callable[[list[tuple[str, dict]]], None],
        *,
        duration: float | None = None,
        stop: threading.Event | None = None,
        tick: float = 0.25,
    ) -> Stats:
        stop = stop or threading.Event()
        ends = None if duration is None else time.monotonic() + duration
        owed = 0.0
        while not stop.is_set() and (ends is None or time.monotonic() < ends):
            started = time.monotonic()
            owed += self.rate * tick
            count = int(owed)
            owed -= count
            if count:
                messages = self.batch(count)
                try:
                    sink(messages)
                    self.stats.sent += len(messages)
                except Exception:
                    self.stats.errors += 1
                    logger.exception("simulator: sending %d messages failed", len(messages))
            stop.wait(max(0.0, tick - (time.monotonic() - started)))
        return self.stats


# ---------------------------------------------------------------- sinks


class MqttSink:
    """Publish each message to its device's topic with QoS 1, as devices do."""

    def __init__(self, url: str, *, event_code: str, topic_root: str, client_id: str):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        parts = urlsplit(url)
        self.event_code, self.topic_root = event_code, topic_root
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        if parts.username:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme in {"mqtts", "ssl"}:
            self.client.tls_set()
        self.client.max_inflight_messages_set(200)
        self.client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
        self.client.loop_start()

    def topic(self, device_code: str) -> str:
        return f"{self.topic_root}/{self.event_code}/devices/{device_code}/telemetry"

    def __call__(self, messages: list[tuple[str, dict]]) -> None:
        infos = [
            self.client.publish(self.topic(code), json.dumps(payload), qos=1)
            for code, payload in messages
        ]
        for info in infos:
            info.wait_for_publish(timeout=10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class HttpSink:
    """POST each device's messages to the HTTP batch endpoint with its own credentials."""

    def __init__(self, url: str, *, event_code: str, secrets: dict[str, str]):
        self.url = url.rstrip("/") + "/api/telemetry/batch"
        self.event_code, self.secrets = event_code, secrets

    def __call__(self, messages: list[tuple[str, dict]]) -> None:
        by_device: dict[str, list[dict]] = {}
        for code, payload in messages:
            by_device.setdefault(code, []).append(payload)
        for code, payloads in by_device.items():
            secret = self.secrets.get(code)
            if secret is None:
                continue
            token = base64.b64encode(f"{self.event_code}/{code}:{secret}".encode()).decode()
            request = urllib.request.Request(
                self.url,
                data=json.dumps(payloads).encode(),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()

    def close(self) -> None:
        pass


class IngestSink:
    """Hand the messages to the ingest service in this process (the demo's simulator)."""

    def __init__(self, *, event_code: str):
        self.event_code = event_code

    def __call__(self, messages: list[tuple[str, dict]]) -> None:
        from eventguard.telemetry import services

        services.telemetry_ingest(
            messages=[
                services.Inbound(self.event_code, code, body=json.dumps(payload).encode())
                for code, payload in messages
            ]
        )

    def close(self) -> None:
        from django.db import connection

        connection.close()


def event_devices(event) -> list[tuple[str, str]]:
    """The active devices of an event as (code, kind)."""
    from eventguard.telemetry.models import Device

    return list(
        Device.objects.filter(event=event, is_active=True)
        .order_by("code")
        .values_list("code", "kind")
    )


def start_in_thread(event, *, rate: float = 50.0, fault_rate: float = 0.002) -> threading.Event:
    """Run the simulator for ``event`` in a daemon thread into this process's ingest; set the
    returned event to stop it."""
    stop = threading.Event()
    simulator = Simulator(event_devices(event), rate=rate, fault_rate=fault_rate)
    sink = IngestSink(event_code=event.code)

    def send(messages: list[tuple[str, dict]]) -> None:
        from django.db import close_old_connections

        close_old_connections()  # a long-lived thread: drop a connection that broke
        sink(messages)

    def run():
        try:
            simulator.run(send, stop=stop)
        finally:
            sink.close()

    threading.Thread(target=run, name="simulator", daemon=True).start()
    return stop
