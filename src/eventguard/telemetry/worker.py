"""`eventguard worker`: MQTT ingest, the rules engine, and the periodic work.

The worker subscribes with QoS 1 and a persistent session through the shared
subscription ``$share/<group>/<root>/+/devices/+/telemetry``, so that several workers,
on one machine or many, split the load. paho's network thread only queues what arrives
(acknowledgement is manual). The main thread takes the queued messages in batches, puts
each through the contract (``services.telemetry_check``: decode, validate, find the
device; no write), stores it (``services.telemetry_store``, one transaction: drop
duplicates, store, update devices, evaluate rules, raise alarms) and acknowledges it only
once that transaction has committed. While PostgreSQL writes a batch's rows, the main
thread takes the messages that arrived meanwhile and checks them (without the database),
so that the next batch is ready when this one commits; nothing of it is acknowledged
before its own commit. (A second thread for that was measured slower: the threads
contend for the interpreter.) The broker
never has more than ``receive_maximum`` messages in flight to the worker (MQTT 5 Receive
Maximum), so the backlog waits at the broker, not in this process.

A broker outage: paho reconnects with backoff; the session (and what was not yet
acknowledged) survives on the broker, and messages taken before the outage are not
acknowledged on the new connection (their packet ids belong to the old one): the broker
delivers them again and the (device, seq) key drops the copy. A database outage: the
batch is retried with backoff and acknowledged only once stored. Nothing acknowledged
is ever lost, and nothing is stored twice.

A second thread runs the periodic work (time rules, the offline rule, escalation,
housekeeping), each task safe with several workers running (see alerts/tasks.py), and,
every second, the database upkeep of the ingest (telemetry/tasks.py: ``ingest_upkeep``). A third
delivers the committed domain events to their subscribers (escalation, notifications,
webhooks), so that the ingest loop never waits for them. An alarm's change is told on
``<root>/<event>/alarms`` for the live screens right after its commit, before those
subscribers run.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import json
import logging
import queue
import random
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.db import connection as db_connection

from eventguard.core import bus
from eventguard.core.context import new_request_id

from .contract import Reason
from .mqtt import Received, lean_client_class  # noqa: F401  (Received: for the tests)
from .services import CheckedBatch, Inbound, telemetry_check, telemetry_ingest, telemetry_store

logger = logging.getLogger("eventguard.worker")


@dataclass
class WorkerConfig:
    url: str
    client_id: str
    topic_root: str = "eventguard"
    share_group: str = "eventguard"
    batch_size: int = 2000
    linger: float = 0.005  # seconds to wait for more messages once one is there
    receive_maximum: int = 4000
    session_expiry: int = 86400  # seconds the broker keeps the session of a gone worker
    timers: bool = True
    notify_alarms: bool = True

    @property
    def subscription(self) -> str:
        topics = f"{self.topic_root}/+/devices/+/telemetry"
        # No group: a plain subscription, for one worker (see docs/telemetry.md on restarts).
        return f"$share/{self.share_group}/{topics}" if self.share_group else topics


def default_client_id() -> str:
    return f"eventguard-worker-{socket.gethostname()}"


def parse_topic(topic: str, root: str) -> tuple[str, str] | None:
    """``<root>/<event>/devices/<device>/telemetry`` -> (event code, device id)."""
    parts = topic.split("/")
    if (
        len(parts) != 5
        or parts[0] != root
        or parts[2] != "devices"
        or parts[4] != "telemetry"
        or not parts[1]
        or not parts[3]
    ):
        return None
    return parts[1], parts[3]


class Backoff:
    def __init__(self, first: float = 0.5, limit: float = 30.0):
        self.first, self.limit, self.current = first, limit, first

    def wait(self, stop: threading.Event) -> None:
        stop.wait(self.current * (0.8 + 0.4 * random.random()))
        self.current = min(self.limit, self.current * 2)

    def reset(self) -> None:
        self.current = self.first


# Alarm changes, told on ``<root>/<event>/alarms`` for live screens as soon as they commit.
ALARM_CHANGES = frozenset(
    {"alerts.alarm.raised", "alerts.alarm.cleared", "alerts.alarm.acknowledged"}
)


class IngestWorker:
    def __init__(self, config: WorkerConfig):
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.config = config
        self.stop_event = threading.Event()
        self._inbox: collections.deque = collections.deque()
        self._wake = threading.Event()
        self._generation = 0  # counts connections: acks go only to the connection a message came on
        self._connected = threading.Event()
        self._event_codes: dict[int, str] = {}
        self._effects: queue.SimpleQueue = queue.SimpleQueue()
        self._watchdog = _Watchdog(STUCK_BATCH_SECONDS)
        self.batches = 0
        self.processed = 0

        parts = urlsplit(config.url)
        self._host = parts.hostname or "127.0.0.1"
        tls = parts.scheme in {"mqtts", "ssl"}
        self._port = parts.port or (8883 if tls else 1883)
        client = lean_client_class()(
            CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if parts.username:
            client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self._connect_properties = Properties(PacketTypes.CONNECT)
        self._connect_properties.SessionExpiryInterval = config.session_expiry
        self._connect_properties.ReceiveMaximum = config.receive_maximum
        self.client = client

    # ------------------------------------------------------------ paho's thread

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.warning("broker refused the connection: %s", reason_code)
            return
        self._generation += 1
        client.subscribe(self.config.subscription, qos=1)
        self._connected.set()
        logger.info(
            "connected to %s:%s as %s (session present: %s), subscribed to %s",
            self._host,
            self._port,
            self.config.client_id,
            flags.session_present,
            self.config.subscription,
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._generation += 1
        self._connected.clear()
        if not self.stop_event.is_set():
            logger.warning("disconnected from the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        self._inbox.append((self._generation, message))
        if len(self._inbox) == 1:
            self._wake.set()

    # ------------------------------------------------------------ the main thread

    def _take(self) -> list:
        if not self._inbox:
            self._wake.wait(0.5)
            self._wake.clear()
            if not self._inbox:
                return []
        if len(self._inbox) < self.config.batch_size and self.config.linger > 0:
            time.sleep(self.config.linger)
        return self._take_waiting()

    def _take_waiting(self) -> list:
        """What has arrived, up to a batch, without waiting for more."""
        inbox, batch = self._inbox, []
        for _ in range(min(len(inbox), self.config.batch_size)):
            batch.append(inbox.popleft())
        return batch

    def _inbound(self, message) -> Inbound:
        topic = message.topic
        parsed = parse_topic(topic, self.config.topic_root)
        if parsed is None:
            return Inbound("", "", body=message.payload, topic=topic, refusal=Reason.BAD_TOPIC)
        return Inbound(parsed[0], parsed[1], body=message.payload, topic=topic)

    def _check(self, batch: list) -> tuple[list, list[Inbound], CheckedBatch | None]:
        """A batch through the contract (no write). None when that fails for another reason
        than the contract (the batch is then stored message by message)."""
        inbound = [self._inbound(message) for _gen, message in batch]
        backoff = Backoff()
        while not self.stop_event.is_set():
            try:
                return batch, inbound, telemetry_check(messages=inbound)
            except (OperationalError, InterfaceError) as exc:  # looking devices up
                logger.warning("database unavailable (%s); the batch waits", exc)
                _close_connection()
                backoff.wait(self.stop_event)
            except Exception:
                logger.exception("checking a batch of %d failed", len(inbound))
                return batch, inbound, None
        return batch, inbound, None

    def _check_ahead(self, ahead: list) -> None:
        """Take the messages waiting and check them, without the database (the store of the
        batch before is under way on the connection): ``ahead`` gets (batch, inbound,
        checked), checked None when that failed (the batch is then checked as usual)."""
        batch = self._take_waiting()
        if not batch:
            return
        inbound = [self._inbound(message) for _gen, message in batch]
        try:
            checked = telemetry_check(messages=inbound, lookup=False)
        except Exception:
            checked = None
        ahead.append((batch, inbound, checked))

    def _store(self, inbound: list[Inbound], checked: CheckedBatch | None, ahead: list) -> bool:
        """Commit the batch; True once it is stored, False when stopping before that.
        Meanwhile (once), the next batch is taken and checked into ``ahead``.

        A database outage is waited out with backoff. A batch that fails for another
        reason three times is taken apart: each message alone, and one that still fails
        goes to the dead-letter store, so that no single message holds up the stream."""
        backoff = Backoff()
        failures = 0 if checked is not None else 3
        meanwhile = functools.partial(self._check_ahead, ahead)  # run once by the store
        while not self.stop_event.is_set():
            try:
                new_request_id("worker-")
                if failures < 3:
                    with self._watchdog.watching(len(inbound)):
                        result = telemetry_store(checked=checked, meanwhile=meanwhile)
                    _log_if_slow(len(inbound), result.timings, result.alarms)
                else:
                    self._store_one_by_one(inbound)
                return True
            except (OperationalError, InterfaceError) as exc:
                logger.warning("database unavailable (%s); the batch waits", exc)
                _close_connection()
            except Exception:
                failures += 1
                logger.exception("batch of %d failed (attempt %d)", len(inbound), failures)
                _close_connection()
            backoff.wait(self.stop_event)
        return False

    def _store_one_by_one(self, inbound: list[Inbound]) -> None:
        for message in inbound:
            try:
                telemetry_ingest(messages=[message])
            except (OperationalError, InterfaceError):
                raise
            except Exception as exc:
                logger.exception("message on %s cannot be processed", message.topic)
                message.refusal = Reason.INVALID
                message.refusal_detail = f"could not be processed: {type(exc).__name__}"
                telemetry_ingest(messages=[message])

    def _ack(self, batch: list) -> None:
        generation = self._generation
        self.client.ack_many([m.mid for g, m in batch if g == generation and m.qos == 1])

    def _notify_alarm(self, name: str, payload: dict, at: float) -> None:
        event_id = payload.get("event_id")
        code = self._event_codes.get(event_id)
        if code is None:
            from eventguard.core.models import Event

            code = Event.objects.filter(pk=event_id).values_list("code", flat=True).first()
            if code is None:
                return
            self._event_codes[event_id] = code
        body = {"change": name.rsplit(".", 1)[-1], "at": at, **payload}
        self.client.publish(
            f"{self.config.topic_root}/{code}/alarms",
            json.dumps(body, default=str, separators=(",", ":")),
            qos=0,
        )

    def _deliver(self, name: str, payload: dict) -> None:
        """Right after a commit, in the thread that committed: an alarm change is told to the
        live screens at once (a publish at QoS 0, which does not wait for the broker), then
        every committed domain event goes to the effects thread, so that neither the ingest
        loop nor these notices wait for the subscribers (escalation, notifications,
        webhooks)."""
        at = time.time()
        if self.config.notify_alarms and name in ALARM_CHANGES:
            try:
                self._notify_alarm(name, payload, at)
            except Exception:  # a notice must not undo a commit, nor stop the ingest
                logger.exception("telling the live screens of %s failed", name)
        self._effects.put((name, payload))

    def _run_effects(self) -> None:
        while True:
            item = self._effects.get()
            if item is None:
                break
            name, payload = item
            try:
                bus.dispatch(name, payload)
            except Exception:
                logger.exception("delivering %s failed", name)
                _close_connection()
        _close_connection()

    def _tune_sqlite(self) -> None:
        """SQLite: the ingest's commits do not checkpoint the WAL (a checkpoint takes tens
        of milliseconds, a latency spike for the batch that pays it; the periodic thread
        checkpoints, passively, every second), and a batch's pages fit in the page cache
        (the default 2 MiB spills them to the WAL in the middle of the transaction)."""
        if db_connection.vendor == "sqlite":
            with db_connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_autocheckpoint = 0")
                cursor.execute("PRAGMA cache_size = -65536")

    def run(self) -> None:
        # The hot path allocates many short-lived objects and makes no cycles: the cyclic
        # collector would run every few hundred messages for nothing (measured: 8 % of the
        # worker's CPU on SQLite). Everything loaded so far is set aside for good.
        gc.freeze()
        gc.set_threshold(200_000, 50, 100)
        effects = threading.Thread(target=self._run_effects, name="effects", daemon=True)
        effects.start()
        bus.deliver_with(self._deliver)
        self.client.connect_async(
            self._host,
            self._port,
            keepalive=30,
            clean_start=False,
            properties=self._connect_properties,
        )
        self.client.loop_start()
        # Always: the database upkeep of the ingest (see _run_timers) runs there too.
        timers = threading.Thread(target=self._run_timers, name="timers", daemon=True)
        timers.start()
        watchdog = threading.Thread(
            target=self._watchdog.run, args=(self.stop_event,), name="watchdog", daemon=True
        )
        watchdog.start()
        self._tune_sqlite()
        try:
            ahead: list = []  # the next batch, taken and checked while the last was stored
            while not self.stop_event.is_set():
                if ahead:
                    batch, inbound, checked = ahead.pop()
                    if checked is None:
                        batch, inbound, checked = self._check(batch)
                else:
                    batch = self._take()
                    if not batch:
                        continue
                    batch, inbound, checked = self._check(batch)
                if not self._store(inbound, checked, ahead):
                    break  # stopping: what was not stored (nor what is ahead) is not acknowledged
                self._ack(batch)
                self.batches += 1
                self.processed += len(batch)
        finally:
            if timers is not None:
                timers.join(timeout=5)
            bus.deliver_with(None)
            self._effects.put(None)  # after what is queued: the effects of stored batches
            effects.join(timeout=30)
            self.client.disconnect()
            self.client.loop_stop()
            _close_connection()

    def stop(self, *_args) -> None:
        self.stop_event.set()
        self._wake.set()

    # ------------------------------------------------------------ periodic work

    def _run_timers(self) -> None:
        from eventguard.alerts import tasks as alert_tasks
        from eventguard.command import tasks as command_tasks

        from . import tasks as telemetry_tasks

        backoff = Backoff(1.0, 60.0)
        next_housekeeping = 0.0
        while not self.stop_event.is_set():
            try:
                close_old_connections()
                telemetry_tasks.ingest_upkeep()
                if not self.config.timers:
                    self.stop_event.wait(1.0)
                    continue
                alert_tasks.run_due_rules()
                command_tasks.run_due()
                if time.monotonic() >= next_housekeeping:
                    telemetry_tasks.purge_dead_letters()
                    next_housekeeping = time.monotonic() + 3600
                backoff.reset()
                self.stop_event.wait(1.0)
            except Exception:
                logger.exception("periodic work failed")
                _close_connection()
                backoff.wait(self.stop_event)
        _close_connection()


SLOW_BATCH_SECONDS = 1.0
# A batch still storing after this long: where each thread of the worker is, logged.
STUCK_BATCH_SECONDS = 0.5
STUCK_LOG_EVERY = 10.0  # seconds: at most one such first look meanwhile (a long lock wait, say)
STUCK_AGAIN = 4  # a batch still storing after this many times as long is logged again...
# ... and again each time its age doubles (2 s, 4 s, 8 s...): a long stall shows how it goes on.


class _Watchdog:
    """Logs where every thread of the worker is when a batch has been storing for ``after``
    seconds, and again while it lasts (at ``STUCK_AGAIN`` times that, then each time its age
    doubles): a stall that comes now and then (a lock held elsewhere, another thread's long
    stretch of Python, a first-time cost) shows its cause in the log while it lasts, when it
    is too late for a profiler to be attached. The first look at a batch is skipped within
    ``STUCK_LOG_EVERY`` of the last log, so that many short stalls do not flood the log; a
    batch stuck for longer is always logged."""

    def __init__(self, after: float):
        self.after = after
        self._batch: tuple[float, int] | None = None  # (started, size) of the batch storing
        self._logged_at = -STUCK_LOG_EVERY

    @contextlib.contextmanager
    def watching(self, size: int):
        self._batch = (time.monotonic(), size)
        try:
            yield
        finally:
            self._batch = None

    def run(self, stop: threading.Event) -> None:
        seen, look_at = None, 0.0  # the batch watched, and its age at the next look
        while not stop.wait(self.after / 5):
            batch = self._batch
            if batch is None:
                continue
            if batch is not seen:
                seen, look_at = batch, self.after
            now = time.monotonic()
            age = now - batch[0]
            if age < look_at:
                continue
            first = look_at == self.after
            look_at = self.after * STUCK_AGAIN if first else look_at * 2
            if first and now - self._logged_at < STUCK_LOG_EVERY:
                continue
            self._logged_at = now
            logger.warning(
                "a batch of %d has been storing for %.1f s; the worker's threads:\n%s",
                batch[1],
                age,
                _threads_now(),
            )


def _threads_now(limit: int = 8, main_limit: int = 16) -> str:
    """Each thread's innermost ``limit`` frames (the main thread's ``main_limit``), innermost
    last, with what the kernel says the thread is doing (Linux): running, or asleep and
    where (a lock, the interpreter's lock, a socket), which the Python frames alone do not
    tell when the thread is inside C code. On PostgreSQL, what the database's sessions of
    this worker are waiting for."""
    frames = sys._current_frames()
    parts = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident)
        if frame is None or thread is threading.current_thread():
            continue
        depth = main_limit if thread is threading.main_thread() else limit
        stack = "".join(traceback.format_stack(frame, limit=depth))
        parts.append(f"[{thread.name}]{_kernel_state(thread.native_id)}\n{stack}")
    return "".join(parts).rstrip() + _database_sessions()


def _kernel_state(native_id: int | None) -> str:
    """' (R running)' or ' (S sleeping in futex_wait_queue)', from /proc; '' elsewhere."""
    try:
        task = f"/proc/self/task/{native_id}"
        with open(f"{task}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
        with open(f"{task}/wchan") as wchan:
            where = wchan.read().strip()
    except (OSError, IndexError):
        return ""
    names = {"R": "running", "S": "sleeping", "D": "waiting for the disk"}
    text = f"{state} {names.get(state, '')}".rstrip()
    return f" ({text} in {where})" if where and where != "0" else f" ({text})"


def _database_sessions() -> str:
    """PostgreSQL: each session on this database, its state and what it waits for (a lock,
    I/O, the write-ahead log), through a connection of the watchdog's own."""
    if db_connection.vendor != "postgresql":
        return ""
    try:
        with db_connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 1000")
            cursor.execute(
                "SELECT pid, backend_type, state, wait_event_type, wait_event, "
                "left(regexp_replace(query, '\\s+', ' ', 'g'), 80) FROM pg_stat_activity "
                "WHERE (datname = current_database() OR datname IS NULL) "
                "AND pid <> pg_backend_pid() ORDER BY pid"
            )
            rows = cursor.fetchall()
    except Exception as exc:
        _close_connection()
        return f"\n[database] not read: {exc}"
    lines = [
        f"  {pid} {kind}: {state or '-'}, waiting for {etype or '-'}/{event or '-'}: {query}"
        for pid, kind, state, etype, event, query in rows
    ]
    return "\n[database]\n" + "\n".join(lines)


def _log_if_slow(size: int, timings: dict[str, float], alarms=None) -> None:
    """A batch that took long to store, with where the time went and how many alarms it
    raised, repeated and cleared (they waited as long): a database under pressure, a lock
    held elsewhere, a batch that touched many alarms."""
    total = sum(timings.values())
    if total >= SLOW_BATCH_SECONDS:
        parts = ", ".join(f"{name} {seconds:.3f} s" for name, seconds in timings.items())
        if alarms is not None:
            parts += (
                f"; alarms raised {len(alarms.raised)}, repeated {len(alarms.repeated)},"
                f" cleared {len(alarms.cleared)}"
            )
        logger.warning("storing a batch of %d took %.3f s (%s)", size, total, parts)


def _close_connection() -> None:
    try:
        db_connection.close()
    except Exception:  # the connection is already gone
        pass


def run_worker(config: WorkerConfig) -> IngestWorker:
    worker = IngestWorker(config)
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    worker.run()
    return worker


def config_from_settings(**overrides) -> WorkerConfig:
    values = {
        "url": settings.MQTT_URL,
        "client_id": default_client_id(),
        "topic_root": settings.MQTT_TOPIC_ROOT,
        "share_group": settings.MQTT_SHARE_GROUP,
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return WorkerConfig(**values)
