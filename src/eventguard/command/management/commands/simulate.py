import json
import os
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eventguard.command.simulator import (
    HttpSink,
    MqttSink,
    Simulator,
    event_devices,
)
from eventguard.core.models import Event


class Command(BaseCommand):
    help = (
        "Publish realistic telemetry for an event's devices (lift and escalator status with "
        "traffic, temperature curves, camera detections) with faults injected."
    )

    def add_arguments(self, parser):
        parser.add_argument("--event", required=True, help="the event's code")
        parser.add_argument("--rate", type=float, default=50.0, help="messages per second")
        parser.add_argument("--duration", type=float, default=None, help="seconds (default: ever)")
        parser.add_argument(
            "--fault-rate",
            type=float,
            default=0.002,
            help="chance that a message starts a fault (default 0.002)",
        )
        parser.add_argument("--seed", type=int, default=None)
        target = parser.add_mutually_exclusive_group()
        target.add_argument("--mqtt", metavar="URL", help="publish to this broker (mqtt://...)")
        target.add_argument("--http", metavar="URL", help="POST to this server's batch endpoint")
        parser.add_argument(
            "--secrets",
            metavar="FILE",
            help="with --http: a JSON file {device code: secret} (the devices' credentials)",
        )

    def handle(self, *args, event, rate, duration, fault_rate, seed, mqtt, http, secrets, **o):
        event_obj = Event.objects.filter(code=event).first()
        if event_obj is None:
            raise CommandError(f"No event {event!r}.")
        devices = event_devices(event_obj)
        if not devices:
            raise CommandError(f"Event {event!r} has no active devices.")
        if rate <= 0:
            raise CommandError("--rate must be positive.")
        if http:
            if not secrets:
                raise CommandError("--http needs --secrets FILE: devices sign in with their own.")
            sink = HttpSink(
                http, event_code=event, secrets=json.loads(Path(secrets).read_text("utf-8"))
            )
            where = http
        else:
            url = mqtt or settings.MQTT_URL
            sink = MqttSink(
                url,
                event_code=event,
                topic_root=settings.MQTT_TOPIC_ROOT,
                client_id=f"eventguard-simulator-{os.getpid()}",
            )
            where = url
        simulator = Simulator(devices, rate=rate, fault_rate=fault_rate, seed=seed)
        self.stdout.write(
            f"Simulating {len(devices)} devices of {event} at {rate:g} messages/s to {where}"
            + (f" for {duration:g} s" if duration else " until Ctrl-C")
        )
        stop = threading.Event()
        try:
            stats = simulator.run(sink, duration=duration, stop=stop)
        except KeyboardInterrupt:
            stop.set()
            stats = simulator.stats
        finally:
            sink.close()
        self.stdout.write(
            f"Sent {stats.sent} messages, {stats.faults} faults injected, {stats.errors} errors."
        )
