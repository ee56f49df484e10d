"""Telemetry ingest benchmark: the same publisher against a bare subscriber and the worker.

    python bench/ingest.py --db postgres --duration 300
    python bench/ingest.py --db sqlite --duration 300
    python bench/ingest.py --db both --duration 20 --latency-duration 20   # a quick look

For each database, in one run:

(a) bare    -- a subscriber that only receives and acknowledges (paho, MQTT 5, QoS 1,
               manual acknowledgement, the worker's Receive Maximum), storing nothing;
(b) worker  -- ``eventguard worker`` (validate, drop duplicates, store, update devices,
               evaluate rules, commit, then acknowledge);
(c) latency -- the worker at a steady ``--rate`` (default 5,000 messages/s) with lift
               faults and recoveries mixed in: the time from publishing a fault (or the
               normal status after it) to the worker's notification that the alarm was
               raised (or cleared), which it sends only after the commit.

The publisher is one paho client publishing QoS 1 to the devices' topics with at most
``--inflight`` messages unacknowledged by the broker. In (a) and (b) it runs closed-loop:
it stays at most ``--window`` messages ahead of what the consumer has acknowledged
(bare) or committed (worker), so the backlog waits in the publisher and never overflows
the broker's per-client queue; the throughput is what the consumer sustained over the
measured window (a warm-up is excluded). Afterwards the bench waits until everything
published is stored and checks that nothing was lost and nothing stored twice.

The database is a fresh one: a temporary SQLite file, or a PostgreSQL database created
(and dropped) on the server of ``--pg-url``. Topics use a unique root, so the bench can
run on a shared broker. Results print as a table; ``--json FILE`` saves them.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import statistics
import struct
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
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

ROOT = Path(__file__).resolve().parents[1]
EVENT = "bench"
SEQUENCES: dict[str, int] = {}


# ---------------------------------------------------------------- environment


class Environment:
    """A fresh database with an event, its rules and the devices, and the env to reach it."""

    def __init__(self, db: str, pg_url: str, devices: int, keep: bool):
        self.db, self.keep = db, keep
        self.home = Path(tempfile.mkdtemp(prefix="egbench-"))
        self.env = dict(os.environ, EVENTGUARD_HOME=str(self.home), EVENTGUARD_LOG_LEVEL="WARNING")
        self.env.pop("DATABASE_URL", None)
        self.pg_admin = None
        if db == "postgres":
            name = f"egbench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            parts = urlsplit(pg_url)
            self.pg_admin = pg_url
            self.pg_name = name
            self.database_url = urlunsplit(parts._replace(path="/" + name))
            self._psql(f'CREATE DATABASE "{name}"')
            self.env.update(DATABASE_URL=self.database_url, EVENTGUARD_SECRET_KEY="bench-only")
        self.devices = devices

    def _psql(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.pg_admin, autocommit=True) as conn:
            conn.execute(sql)

    def eventguard(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "eventguard", *args],
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            **kwargs,
        )

    def prepare(self) -> dict:
        self.eventguard("migrate", "-v0")
        code = SEED.replace("__DEVICES__", str(self.devices)).replace("__EVENT__", EVENT)
        out = self.eventguard("shell", "-c", code).stdout
        return json.loads(out.strip().splitlines()[-1])

    def connect(self):
        if self.db == "postgres":
            import psycopg

            return psycopg.connect(self.database_url, autocommit=True)
        import sqlite3

        return sqlite3.connect(self.home / "eventguard.sqlite3", timeout=30)

    def cleanup(self) -> None:
        if self.keep:
            print(f"kept: {self.home} {getattr(self, 'database_url', '')}")
            return
        if self.db == "postgres":
            try:
                self._psql(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001
                print(f"could not drop {self.pg_name}: {exc}")
        shutil.rmtree(self.home, ignore_errors=True)


SEED = r"""
import json
from eventguard.alerts.services import rules_install_defaults
from eventguard.core import services
from eventguard.core.credit_code import generate_credit_code
from eventguard.core.models import UnitCategory
from eventguard.telemetry.services import devices_register
import datetime as dt, random
rng = random.Random(1)
event = services.event_create(
    actor=None, code="__EVENT__", name_zh="基准", name_en="Bench",
    preparation_start=dt.date(2021, 8, 1), opening=dt.date(2021, 11, 5),
    closing=dt.date(2021, 11, 10),
)
rules_install_defaults(actor=None, event=event)
n = __DEVICES__
lifts, loggers = n * 6 // 10, n - n * 6 // 10
key = UnitCategory.objects.get(code="key_guarantee_unit")
cold = UnitCategory.objects.get(code="coldchain_warehouse")
specs = []
codes = set()
for i in range(n):
    code = generate_credit_code(rng)
    while code in codes:
        code = generate_credit_code(rng)
    codes.add(code)
    lift = i < lifts
    unit = services.unit_create(actor=None, event=event, category=key if lift else cold,
        name_zh=f"单位{i}", credit_code=code)
    specs.append({"code": f"lc-{i}" if lift else f"tl-{i}",
                  "kind": "lift_controller" if lift else "temperature_logger",
                  "subject_type": "core.unit", "subject_id": unit.pk})
devices_register(actor=None, event=event, specs=specs)
print(json.dumps({"event_id": event.pk, "lifts": [s["code"] for s in specs[:lifts]],
                  "loggers": [s["code"] for s in specs[lifts:]]}))
"""


def stored_count(conn, event_id: int) -> int:
    cur = conn.cursor()
    cur.execute(
        "SELECT COALESCE(SUM(stored), 0) FROM telemetry_ingesttally WHERE event_id = %s"
        if not hasattr(conn, "total_changes")
        else "SELECT COALESCE(SUM(stored), 0) FROM telemetry_ingesttally WHERE event_id = ?",
        (event_id,),
    )
    return int(cur.fetchone()[0])


def exact_counts(conn, event_id: int) -> dict:
    cur = conn.cursor()
    mark = "?" if hasattr(conn, "total_changes") else "%s"
    cur.execute(
        f"SELECT COUNT(*) FROM telemetry_telemetrymessage WHERE event_id = {mark}", (event_id,)
    )
    rows = int(cur.fetchone()[0])
    cur.execute(
        "SELECT COUNT(*) FROM (SELECT device_id, seq FROM telemetry_telemetrymessage "
        f"WHERE event_id = {mark} GROUP BY device_id, seq HAVING COUNT(*) > 1) AS d",
        (event_id,),
    )
    doubled = int(cur.fetchone()[0])
    cur.execute("SELECT COUNT(*) FROM telemetry_deadletter")
    dead = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT COALESCE(SUM(duplicates), 0) FROM telemetry_ingesttally WHERE event_id = {mark}",
        (event_id,),
    )
    duplicates = int(cur.fetchone()[0])
    return {"rows": rows, "stored_twice": doubled, "dead_letters": dead, "duplicates": duplicates}


# ---------------------------------------------------------------- a private broker


BROKER_CONF = """\
listener {port} 127.0.0.1
allow_anonymous true
persistence false
# The bench keeps the backlog bounded itself; the worker's backlog during an outage must
# fit here in production (see docs/telemetry.md).
max_queued_messages 1000000
"""


class PrivateBroker:
    """Mosquitto on its own port, configured as docs/telemetry.md asks for production."""

    def __init__(self, port: int):
        import socket

        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            raise SystemExit(f"port {port} is taken: pass --broker-port or --broker")
        except OSError:
            pass
        self.dir = Path(tempfile.mkdtemp(prefix="egbench-broker-"))
        conf = self.dir / "mosquitto.conf"
        conf.write_text(BROKER_CONF.format(port=port))
        self.proc = subprocess.Popen(
            [shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"mqtt://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"mosquitto did not start on port {port}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- publisher


class Publisher:
    """A lean MQTT 3.1.1 publisher on a plain socket, so that the publisher is not what
    limits the rate: QoS 1 PUBLISH packets written in chunks, the broker's PUBACKs counted
    by a reader thread, at most ``inflight`` messages unacknowledged. (paho's publish costs
    about 100 µs of CPU a message here, which would make both runs publisher-bound.)"""

    def __init__(self, url: str, root: str, inflight: int):
        parts = urlsplit(url)
        self.root = root
        self.inflight = inflight
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client_id = f"egf-bench-pub-{uuid.uuid4().hex[:8]}".encode()
        # CONNECT: MQTT 3.1.1, clean session, no keep-alive.
        variable = b"\x00\x04MQTT\x04\x02\x00\x00"
        body = variable + struct.pack("!H", len(client_id)) + client_id
        self.sock.sendall(bytes([0x10]) + _remaining_length(len(body)) + body)
        connack = self._read_exactly(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise SystemExit(f"the broker refused the publisher: {connack!r}")
        self.acked = 0
        self.published = 0
        self.baseline = (0, 0)  # (published, consumed) once the consumer is known to listen
        self.seq = SEQUENCES  # per device, continued across phases: a device never reuses one
        self._mid = 0
        self._buffer = bytearray()
        self._topics: dict[str, bytes] = {}
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()

    def _read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the broker closed the connection")
            data += chunk
        return data

    def _read_acks(self) -> None:
        pending = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return
                pending += chunk
                pos, acked = 0, 0
                # PUBACK is 0x40 0x02 <mid>; nothing else comes to a publisher.
                while len(pending) - pos >= 4:
                    if pending[pos] == 0x40:
                        acked += 1
                    pos += 2 + pending[pos + 1]
                pending = pending[pos:]
                self.acked += acked
        except OSError:
            return

    def topic(self, device: str) -> bytes:
        topic = self._topics.get(device)
        if topic is None:
            name = f"{self.root}/{EVENT}/devices/{device}/telemetry".encode()
            topic = self._topics[device] = struct.pack("!H", len(name)) + name
        return topic

    def send(self, device: str, payload: str) -> None:
        while self.published - self.acked >= self.inflight:
            self.flush()
            time.sleep(0.0002)
        self._mid = self._mid % 65535 + 1
        body = self.topic(device) + struct.pack("!H", self._mid) + payload.encode()
        self._buffer += b"\x32" + _remaining_length(len(body)) + body
        self.published += 1
        if len(self._buffer) >= 16384:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self.sock.sendall(self._buffer)
            self._buffer.clear()

    def next_seq(self, device: str) -> int:
        seq = self.seq.get(device, 0) + 1
        self.seq[device] = seq
        return seq

    def drain(self, timeout: float = 30) -> None:
        self.flush()
        end = time.monotonic() + timeout
        while self.acked < self.published and time.monotonic() < end:
            time.sleep(0.01)

    def close(self) -> None:
        self.drain()
        try:
            self.sock.sendall(b"\xe0\x00")  # DISCONNECT
        finally:
            self.sock.close()


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def elevator_payload(seq: int, ms: int, fault: str | None = None) -> str:
    if fault:
        return (
            f'{{"ts":{ms},"seq":{seq},"kind":"elevator.status","run_state":"stopped",'
            f'"direction":"none","door":"closed","at_floor_level":true,"speed":0.0,"floor":3,'
            f'"person_in_car":true,"fault":"{fault}"}}'
        )
    return (
        f'{{"ts":{ms},"seq":{seq},"kind":"elevator.status","run_state":"running",'
        f'"direction":"up","door":"closed","at_floor_level":false,"speed":1.75,'
        f'"floor":{seq % 20},"person_in_car":true}}'
    )


def temperature_payload(seq: int, ms: int) -> str:
    # A cold room drifting slowly around −20 °C: within every default rule's limits.
    celsius = -20 + 0.5 * math.sin(ms / 600_000)
    return f'{{"ts":{ms},"seq":{seq},"kind":"temperature","celsius":{celsius:.1f},"humidity":61}}'


def closed_loop(
    pub: Publisher, devices: list[str], consumed, duration: float, warmup: float, window: int
) -> dict:
    """Publish as fast as the consumer keeps up (at most ``window`` ahead); returns the
    consumer's rate over the measured part."""
    start = time.monotonic()
    measure_from = start + warmup
    end = measure_from + duration
    base = None
    i = 0
    n = len(devices)
    while True:
        now = time.monotonic()
        if base is None and now >= measure_from:
            base = (now, consumed())
        if now >= end:
            break
        if pub.published - consumed() >= window:
            time.sleep(0.001)
            continue
        ms = int(time.time() * 1000)
        for _ in range(100):
            device = devices[i % n]
            i += 1
            seq = pub.next_seq(device)
            payload = (
                elevator_payload(seq, ms) if device[0] == "l" else temperature_payload(seq, ms)
            )
            pub.send(device, payload)
        pub.flush()
    t0, c0 = base
    t1, c1 = time.monotonic(), consumed()
    return {"rate": (c1 - c0) / (t1 - t0), "seconds": t1 - t0, "messages": c1 - c0}


# ---------------------------------------------------------------- (a) the bare subscriber


BARE_KINDS = {
    "paho": "paho, MQTT 3.1.1, acknowledged by paho as each message arrives (the stock client)",
    "paho5": "paho, MQTT 5, manual acknowledgement of each message (the worker's protocol)",
    "lean": "the worker's lean receive path (MQTT 5), acknowledging each message",
}


def bare_subscriber(kind, url, root, group, receive_maximum, counter, ready, stop):
    parts = urlsplit(url)
    client_id = f"egf-bench-bare-{uuid.uuid4().hex[:8]}"
    if kind == "paho":
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
    else:
        factory = mqtt.Client
        if kind == "lean":
            from eventguard.telemetry.mqtt import lean_client_class

            factory = lean_client_class()
        client = factory(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
    received = [0]
    manual = kind != "paho"

    def on_message(c, userdata, message):
        if manual:
            c.ack(message.mid, message.qos)
        received[0] += 1
        if received[0] % 100 == 0:
            counter.value = received[0]

    def on_connect(c, userdata, flags, reason_code, properties):
        c.subscribe(f"$share/{group}/{root}/+/devices/+/telemetry", qos=1)

    def on_subscribe(c, userdata, mid, reason_codes, properties):
        ready.set()

    client.on_message = on_message
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    if kind == "paho":
        client.connect(host, port)
    else:
        props = Properties(PacketTypes.CONNECT)
        props.ReceiveMaximum = receive_maximum
        props.SessionExpiryInterval = 60
        client.connect(host, port, clean_start=True, properties=props)
    client.loop_start()
    while not stop.is_set():
        counter.value = received[0]
        time.sleep(0.01)
    counter.value = received[0]
    client.disconnect()
    client.loop_stop()


def run_bare(args, devices, kind: str, duration: float) -> dict:
    root = f"egf-bench-{uuid.uuid4().hex[:8]}"
    counter, ready, stop = mp.Value("q", 0), mp.Event(), mp.Event()
    proc = mp.Process(
        target=bare_subscriber,
        args=(
            kind,
            args.broker,
            root,
            f"egfb{uuid.uuid4().hex[:6]}",
            args.receive_maximum,
            counter,
            ready,
            stop,
        ),
    )
    proc.start()
    ready.wait(30)
    pub = Publisher(args.broker, root, args.inflight)
    wait_until_consumed(pub, devices, lambda: counter.value)
    self_before = os.times()
    bare_before = thread_cpu(proc.pid)
    result = closed_loop(pub, devices, lambda: counter.value, duration, args.warmup, args.window)
    self_after = os.times()
    bare_after = thread_cpu(proc.pid)
    result["subscriber_cpu_seconds"] = {
        k: round(bare_after[k] - bare_before.get(k, 0), 1) for k in bare_after
    }
    result["publisher_cpu_seconds"] = round(
        (self_after.user + self_after.system) - (self_before.user + self_before.system), 1
    )
    pub.close()
    end = time.monotonic() + 30
    while counter.value < pub.published and time.monotonic() < end:
        time.sleep(0.05)
    result.update(published=pub.published, received=counter.value, kind=kind)
    stop.set()
    proc.join(10)
    return result


# ---------------------------------------------------------------- (b) and (c) the worker


def thread_cpu(pid: int) -> dict:
    ticks = os.sysconf("SC_CLK_TCK")
    usage: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            usage[name] = usage.get(name, 0) + (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            continue
    return usage


class Worker:
    def __init__(self, env: Environment, args, root: str, index: int = 1):
        self.root = root
        cmd = [
            sys.executable,
            "-m",
            "eventguard",
            "worker",
            "--mqtt-url",
            args.broker,
            "--client-id",
            f"egf-bench-w{index}-{uuid.uuid4().hex[:6]}",
            "--topic-root",
            root,
            "--share-group",
            f"egfw{root[-6:]}",
            "--receive-maximum",
            str(args.receive_maximum),
            "--batch-size",
            str(args.batch_size),
            "--session-expiry",
            "60",
            *args.worker_args.split(),
        ]
        self.log = open(env.home / f"worker-{root}-{index}.log", "w")
        self.proc = subprocess.Popen(cmd, env=env.env, stdout=self.log, stderr=subprocess.STDOUT)

    def cpu(self) -> dict:
        """CPU seconds used so far by each thread of the worker (Linux)."""
        return thread_cpu(self.proc.pid)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def slow_batches(self) -> list[str]:
        """The worker's warnings of batches that took long to store (after stop()), and
        where its threads were while one was stuck (the lines that follow such a warning)."""
        lines = Path(self.log.name).read_text(errors="replace").splitlines()
        found, within = [], False
        for line in lines:
            if "storing a batch" in line or "has been storing" in line:
                found.append(line)
                within = "has been storing" in line
            elif within and (line.startswith(("  ", "[")) and line.strip()):
                found.append(line)
            else:
                within = False
        return found


def wait_until_consumed(pub: Publisher, devices: list[str], consumed, seconds=60.0) -> None:
    """Publish a message every half second until the consumer has one: its subscription is
    in place (a shared subscription has nobody to deliver to before that)."""
    end = time.monotonic() + seconds
    i = 0
    while consumed() == 0:
        if time.monotonic() > end:
            raise SystemExit("the consumer never received anything: is it running?")
        device = devices[i % len(devices)]
        i += 1
        seq = pub.next_seq(device)
        ms = int(time.time() * 1000)
        pub.send(
            device, elevator_payload(seq, ms) if device[0] == "l" else temperature_payload(seq, ms)
        )
        pub.flush()
        time.sleep(0.5)
    # Probes sent before the subscription was in place went nowhere: count from here.
    pub.baseline = (pub.published, consumed())


def run_worker_throughput(args, env: Environment, seed: dict) -> dict:
    conn = env.connect()
    root = f"egf-bench-{uuid.uuid4().hex[:8]}"
    event_id = seed["event_id"]
    before = stored_count(conn, event_id)
    workers = [Worker(env, args, root, i + 1) for i in range(args.workers)]
    try:
        pub = Publisher(args.broker, root, args.inflight)
        devices = seed["lifts"] + seed["loggers"]
        consumed_at = [before, 0.0]

        def consumed() -> int:
            now = time.monotonic()
            if now - consumed_at[1] > 0.02:
                consumed_at[0] = stored_count(conn, event_id)
                consumed_at[1] = now
            return consumed_at[0] - before

        wait_until_consumed(pub, devices, consumed)
        cpu_before = [w.cpu() for w in workers]
        self_before = os.times()
        result = closed_loop(pub, devices, consumed, args.duration, args.warmup, args.window)
        cpu_after = [w.cpu() for w in workers]
        self_after = os.times()
        result["worker_cpu_seconds"] = [
            {k: round(after[k] - b.get(k, 0), 1) for k in after}
            for b, after in zip(cpu_before, cpu_after, strict=True)
        ]
        result["publisher_cpu_seconds"] = round(
            (self_after.user + self_after.system) - (self_before.user + self_before.system), 1
        )
        pub.close()
        result.update(settle(pub, lambda: stored_count(conn, event_id) - before))
    finally:
        for w in workers:
            w.stop()
        conn.close()
    return result


def settle(pub: Publisher, stored) -> dict:
    """Wait until all published since the probe is stored (60 s at most); what is missing
    then counts as lost."""
    base_published, base_stored = pub.baseline
    expected = pub.published - base_published
    end = time.monotonic() + 60
    while stored() - base_stored < expected and time.monotonic() < end:
        time.sleep(0.1)
    got = stored() - base_stored
    return {"published": expected, "stored": got, "lost": expected - got}


def run_latency(args, env: Environment, seed: dict) -> dict:
    """Steady ``rate`` messages/s for ``latency_duration`` s; lifts fault and recover."""
    conn = env.connect()
    root = f"egf-bench-{uuid.uuid4().hex[:8]}"
    event_id = seed["event_id"]
    before = stored_count(conn, event_id)
    workers = [Worker(env, args, root, i + 1) for i in range(args.workers)]
    sent: dict[tuple[str, int], float] = {}
    latencies = {"raised": [], "cleared": []}
    timeline: list[tuple[float, float]] = []  # (sent at, latency) of each alarm change
    parts = urlsplit(args.broker)
    listener = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"egf-bench-l-{uuid.uuid4().hex[:6]}"
    )

    def on_alarm(c, userdata, message):
        # "at" is when the worker's transaction had committed (it stamps the notice then).
        body = json.loads(message.payload)
        details = body.get("details") or {}
        key = (details.get("device"), details.get("seq"))
        change = body.get("change")
        if key in sent and change in latencies:
            latencies[change].append(body["at"] - sent[key])
            timeline.append((sent[key], body["at"] - sent[key]))

    listener.on_message = on_alarm
    listener.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    listener.subscribe(f"{root}/{EVENT}/alarms", qos=0)
    listener.loop_start()
    try:
        pub = Publisher(args.broker, root, args.inflight)
        devices = seed["lifts"] + seed["loggers"]
        wait_until_consumed(pub, devices, lambda: stored_count(conn, event_id) - before)
        lifts = seed["lifts"]
        tick = 0.01
        per_tick = max(1, int(args.rate * tick))
        fault_every = max(1, int(args.rate / args.faults_per_second))
        faulty: list[tuple[float, str]] = []  # lifts to bring back to normal, and when
        i = 0
        start, wall_start = time.monotonic(), time.time()
        next_tick = start
        end = start + args.latency_duration
        n, lift_i, faults_sent = len(devices), 0, 0
        while time.monotonic() < end:
            ms = int(time.time() * 1000)
            for _ in range(per_tick):
                if i % fault_every == 0:
                    lift = lifts[lift_i % len(lifts)]
                    lift_i += 1
                    faults_sent += 1
                    seq = pub.next_seq(lift)
                    sent[(lift, seq)] = time.time()
                    pub.send(lift, elevator_payload(seq, ms, fault="trapped_at_floor"))
                    faulty.append((time.monotonic() + 0.5, lift))
                elif faulty and faulty[0][0] <= time.monotonic():
                    _due, lift = faulty.pop(0)
                    seq = pub.next_seq(lift)
                    sent[(lift, seq)] = time.time()
                    pub.send(lift, elevator_payload(seq, ms))
                else:
                    device = devices[i % n]
                    seq = pub.next_seq(device)
                    if device[0] == "l":
                        # A lift's normal status may be what clears its alarm: time it too.
                        sent[(device, seq)] = time.time()
                        pub.send(device, elevator_payload(seq, ms))
                    else:
                        pub.send(device, temperature_payload(seq, ms))
                i += 1
            pub.flush()
            next_tick += tick
            delay = next_tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        elapsed = time.monotonic() - start
        pub.close()
        counts = settle(pub, lambda: stored_count(conn, event_id) - before)
        time.sleep(1.0)
    finally:
        for w in workers:
            w.stop()
        listener.loop_stop()
        listener.disconnect()
        conn.close()
    slow_batches = [line for w in workers for line in w.slow_batches()]

    def pct(values, p):
        if not values:
            return None
        values = sorted(values)
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000

    everything = latencies["raised"] + latencies["cleared"]
    return {
        "rate_target": args.rate,
        "rate_achieved": pub.published / elapsed,
        **counts,
        "alarms_raised": len(latencies["raised"]),
        "alarms_cleared": len(latencies["cleared"]),
        "faults_sent": faults_sent,
        "p50_ms": pct(everything, 50),
        "p99_ms": pct(everything, 99),
        "max_ms": max(everything) * 1000 if everything else None,
        "mean_ms": statistics.fmean(everything) * 1000 if everything else None,
        # The slowest alarm changes: when they were sent (seconds into the steady rate, wall
        # clock) and how long they took, to match with the database's log.
        "slowest": [
            {
                "at_s": round(at - wall_start, 2),
                "wall": time.strftime("%H:%M:%S", time.gmtime(at)),
                "ms": round(latency * 1000, 1),
            }
            for at, latency in sorted(timeline, key=lambda item: -item[1])[:10]
        ],
        # the worker's log of batches that took ≥ 1 s, and where its threads were when stuck
        "slow_batches": slow_batches[:200],
    }


# ---------------------------------------------------------------- main


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_before": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--duration", type=float, default=300, help="measured seconds of (a) and (b)"
    )
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument(
        "--bare",
        default="paho,lean",
        help="bare subscribers to measure, the first the reference: paho, paho5, lean",
    )
    parser.add_argument(
        "--others", type=float, default=60, help="measured seconds of the other bare subscribers"
    )
    parser.add_argument("--latency-duration", type=float, default=60)
    parser.add_argument("--rate", type=float, default=5000, help="messages/s of (c)")
    parser.add_argument("--faults-per-second", type=float, default=2)
    parser.add_argument("--devices", type=int, default=800)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--worker-args", default="", help="more options for eventguard worker")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--receive-maximum", type=int, default=4000)
    parser.add_argument("--inflight", type=int, default=1000)
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument(
        "--broker",
        help="use this broker (e.g. mqtt://127.0.0.1:1883) instead of a private Mosquitto",
    )
    parser.add_argument("--broker-port", type=int, default=8164, help="port of the private broker")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--skip", default="", help="comma-separated phases to skip: bare,worker,latency"
    )
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    results = {"machine": machine(), "args": vars(args), "runs": {}}
    print(f"machine: {results['machine']}", flush=True)
    broker = None
    if not args.broker:
        broker = PrivateBroker(args.broker_port)
        args.broker = broker.url
    try:
        run_all(args, skip, results)
    finally:
        if broker is not None:
            broker.stop()
    results["machine"]["load_after"] = os.getloadavg()
    print()
    print(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


def run_all(args, skip: set[str], results: dict) -> None:
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        env = Environment(db, args.pg_url, args.devices, args.keep)
        SEQUENCES.clear()
        run = results["runs"][db] = {}
        try:
            print(f"[{db}] preparing a fresh database with {args.devices} devices…", flush=True)
            seed = env.prepare()
            devices = seed["lifts"] + seed["loggers"]
            if "bare" not in skip:
                kinds = args.bare.split(",")
                for kind in kinds:
                    seconds = args.duration if kind == kinds[0] else args.others
                    print(
                        f"[{db}] (a) bare subscriber: {BARE_KINDS[kind]}, {seconds:.0f} s…",
                        flush=True,
                    )
                    result = run_bare(args, devices, kind, seconds)
                    run.setdefault("bare_variants", {})[kind] = result
                    if kind == kinds[0]:
                        run["bare"] = result
                    print(
                        f"[{db}]     {result['rate']:.0f} messages/s "
                        f"(cpu s: subscriber {result['subscriber_cpu_seconds']}, "
                        f"publisher {result['publisher_cpu_seconds']})",
                        flush=True,
                    )
            if "worker" not in skip:
                print(f"[{db}] (b) worker, {args.duration:.0f} s…", flush=True)
                run["worker"] = run_worker_throughput(args, env, seed)
                print(
                    f"[{db}]     {run['worker']['rate']:.0f} messages/s "
                    f"(cpu s: worker {run['worker']['worker_cpu_seconds']}, "
                    f"publisher {run['worker']['publisher_cpu_seconds']})",
                    flush=True,
                )
            if "bare" in run and "worker" in run:
                run["ratio"] = run["worker"]["rate"] / run["bare"]["rate"]
                run["ratios"] = {
                    kind: run["worker"]["rate"] / result["rate"]
                    for kind, result in run.get("bare_variants", {}).items()
                }
            if "latency" not in skip:
                print(
                    f"[{db}] (c) latency at {args.rate:.0f} messages/s, "
                    f"{args.latency_duration:.0f} s…",
                    flush=True,
                )
                run["latency"] = run_latency(args, env, seed)
                slowest = run["latency"]["slowest"][:3]
                print(f"[{db}]     slowest: {slowest}", flush=True)
                for line in run["latency"]["slow_batches"]:
                    print(f"[{db}]     {line}", flush=True)
            conn = env.connect()
            run["check"] = exact_counts(conn, seed["event_id"])
            conn.close()
            run["check"]["lost"] = sum(run[k]["lost"] for k in ("worker", "latency") if k in run)
        finally:
            env.cleanup()


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def report(results: dict) -> str:
    lines = [
        "| database | bare msg/s | worker msg/s | worker/bare | latency at msg/s | p50 ms "
        "| p99 ms | lost | stored twice |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for db, run in results["runs"].items():
        lat = run.get("latency", {})
        check = run.get("check", {})
        cells = [
            db,
            _fmt(run.get("bare", {}).get("rate"), ",.0f"),
            _fmt(run.get("worker", {}).get("rate"), ",.0f"),
            _fmt(run.get("ratio"), ".0%"),
            _fmt(lat.get("rate_achieved"), ",.0f"),
            _fmt(lat.get("p50_ms"), ".0f"),
            _fmt(lat.get("p99_ms"), ".0f"),
            str(check.get("lost", "—")),
            str(check.get("stored_twice", "—")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    mp.set_start_method("fork")
    main()
