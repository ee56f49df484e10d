"""A real deployment in miniature for the worker tests: a database of its own, the
``eventguard worker`` and ``eventguard serve`` commands as separate processes, and
Mosquitto brokers (the configured one, or a private one the test may restart).

The test database of pytest lives inside a transaction (or in memory), where no other
process can see it; these tests therefore build their own database, SQLite or
PostgreSQL after ``DATABASE_URL``, and read it through the commands and the API.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

SETUP = r"""
import json, datetime as dt
from eventguard.alerts.services import rules_install_defaults
from eventguard.core import services
from eventguard.core.credit_code import generate_credit_code
from eventguard.core.models import UnitCategory, User
from eventguard.telemetry.services import devices_register
import random
spec = json.loads(__SPEC__)
rng = random.Random(spec["event"])
event = services.event_create(
    actor=None, code=spec["event"], name_zh="测试", name_en="Test",
    preparation_start=dt.date(2021, 8, 1), opening=dt.date(2021, 11, 5),
    closing=dt.date(2021, 11, 10),
)
rules_install_defaults(actor=None, event=event)
category = UnitCategory.objects.get(code="key_guarantee_unit")
devices = []
for code in spec["lifts"]:
    unit = services.unit_create(actor=None, event=event, category=category,
                                name_zh=f"保障单位 {code}", credit_code=generate_credit_code(rng))
    devices.append({"code": code, "kind": "lift_controller", "subject_type": "core.unit",
                    "subject_id": unit.pk})
devices_register(actor=None, event=event, specs=devices)
print(json.dumps({"event_id": event.pk}))
"""

COUNTS = r"""
import json
from eventguard.telemetry.models import DeadLetter, Device, TelemetryMessage
from eventguard.telemetry.selectors import telemetry_stats
from eventguard.core.models import Event
event = Event.objects.get(code=__EVENT__)
rows = list(TelemetryMessage.objects.filter(event=event).values_list("device__code", "seq"))
print(json.dumps({
    "rows": rows,
    "stats": telemetry_stats(event),
    "dead": list(DeadLetter.objects.filter(event_code=event.code)
                 .values_list("device_code", "reason", "detail")),
}, default=str))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, seconds: float = 15) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answers on port {port}")


class PrivateBroker:
    """A Mosquitto of the test's own, persistent, configured as docs/telemetry.md asks."""

    def __init__(self, directory: Path):
        self.dir = directory
        # Started as root, Mosquitto drops to its own user, which must write its database here.
        directory.chmod(0o777)
        self.port = free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {directory}/\n"
            "max_queued_messages 100000\n"
        )
        self.proc = None
        self.start()

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [binary, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)

    def stop(self) -> None:
        """A clean stop: Mosquitto writes its sessions and queues to disk."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(15)

    def restart(self, pause: float = 1.0) -> None:
        self.stop()
        time.sleep(pause)
        self.start()


class WorkerEnv:
    """A database with the project migrated into it, and the commands run against it."""

    def __init__(self, base: Path, mqtt_url: str):
        self.base = base
        self.mqtt_url = mqtt_url
        self.home = base / "home"
        self.home.mkdir()
        self.env = dict(os.environ, EVENTGUARD_HOME=str(self.home), EVENTGUARD_LOG_LEVEL="INFO")
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parents[3]), self.env.get("PYTHONPATH", "")]
        )
        self.pg_admin_url = None
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith("postgres"):
            parts = urlsplit(database_url)
            self.pg_name = f"{parts.path.lstrip('/') or 'eventguard'}_worker_{uuid.uuid4().hex[:8]}"
            self.pg_admin_url = urlunsplit(parts._replace(path="/postgres"))
            self._admin(f'CREATE DATABASE "{self.pg_name}"')
            self.env["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + self.pg_name))
            self.env.setdefault("EVENTGUARD_SECRET_KEY", "test-only")
        else:
            self.env.pop("DATABASE_URL", None)
        self.processes: list[subprocess.Popen] = []
        self.command("migrate", "-v0")

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def command(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "eventguard", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise AssertionError(f"eventguard {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def python(self, code: str) -> dict:
        out = self.command("shell", "-c", code)
        return json.loads(out.strip().splitlines()[-1])

    def create_event(self, code: str, lifts: list[str]) -> dict:
        spec = json.dumps({"event": code, "lifts": lifts})
        return self.python(SETUP.replace("__SPEC__", repr(spec)))

    def counts(self, event: str) -> dict:
        return self.python(COUNTS.replace("__EVENT__", repr(event)))

    def start_worker(
        self,
        *,
        topic_root: str,
        client_id: str,
        url: str | None = None,
        shared: bool = True,
        extra: tuple[str, ...] = (),
    ) -> subprocess.Popen:
        log = open(self.base / f"{client_id}.log", "a")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "eventguard",
                "worker",
                "--mqtt-url",
                url or self.mqtt_url,
                "--client-id",
                client_id,
                "--topic-root",
                topic_root,
                "--share-group",
                f"g{topic_root}" if shared else "",
                "--session-expiry",
                "300",
                *extra,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        proc.log_path = self.base / f"{client_id}.log"
        self.processes.append(proc)
        return proc

    def start_server(self) -> str:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "eventguard", "serve", "--port", str(port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(proc)
        wait_port(port, 60)
        return f"http://127.0.0.1:{port}"

    def close(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        if self.pg_admin_url:
            try:
                self._admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            except Exception:  # noqa: BLE001 - a database left behind is not a failure
                pass


def wait_until(predicate, seconds: float, interval: float = 0.1):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def worker_ready(proc, seconds: float = 90) -> None:
    """Until the worker says it subscribed (the line it logs once the broker took it)."""

    def subscribed():
        return "subscribed to" in Path(proc.log_path).read_text()

    if not wait_until(subscribed, seconds):
        raise AssertionError("the worker did not subscribe:\n" + Path(proc.log_path).read_text())
    time.sleep(0.3)  # the SUBACK follows the log line


class Publisher:
    """A device fleet's publisher: QoS 1, a persistent session, and a record of every
    message the broker acknowledged."""

    def __init__(self, url: str, topic_root: str, event: str):
        parts = urlsplit(url)
        self.topic_root, self.event = topic_root, event
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"egf-test-pub-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 2)
        self._by_mid: dict[int, tuple[str, int]] = {}
        self.acknowledged: set[tuple[str, int]] = set()
        self._early: set[int] = set()
        self.lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.connect(parts.hostname, parts.port or 1883)
        self.client.loop_start()

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        with self.lock:
            key = self._by_mid.pop(mid, None)
            if key is None:
                self._early.add(mid)  # acknowledged before send() recorded it
            else:
                self.acknowledged.add(key)

    def send(self, device: str, payload: dict | bytes) -> None:
        # Not under self.lock: paho calls on_publish holding its own lock, which publish()
        # needs too.
        body = payload if isinstance(payload, bytes) else json.dumps(payload)
        info = self.client.publish(
            f"{self.topic_root}/{self.event}/devices/{device}/telemetry", body, qos=1
        )
        if isinstance(payload, dict):
            key = (device, payload["seq"])
            with self.lock:
                if info.mid in self._early:
                    self._early.discard(info.mid)
                    self.acknowledged.add(key)
                else:
                    self._by_mid[info.mid] = key

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def status(seq: int, fault: str | None = None) -> dict:
    data = {
        "ts": int(time.time() * 1000),
        "seq": seq,
        "kind": "elevator.status",
        "run_state": "stopped" if fault else "running",
        "door": "closed",
        "floor": 2,
    }
    if fault:
        data["fault"] = fault
    return data


def new_root() -> str:
    return f"egf-test-{uuid.uuid4().hex[:10]}"


def make_tmp() -> Path:
    return Path(tempfile.mkdtemp(prefix="egf-worker-"))
