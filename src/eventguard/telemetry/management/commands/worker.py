import logging

from django.core.management.base import BaseCommand

from eventguard.telemetry.worker import config_from_settings, run_worker


class Command(BaseCommand):
    help = (
        "Run the worker: MQTT telemetry ingest (QoS 1, persistent session, shared "
        "subscription), the rules engine and the periodic work. Run several at once with "
        "distinct --client-id values to split the load."
    )

    def add_arguments(self, parser):
        parser.add_argument("--mqtt-url", help="broker URL (default: settings MQTT_URL)")
        parser.add_argument(
            "--client-id", help="the worker's MQTT client id: its persistent session"
        )
        parser.add_argument("--topic-root", help="topic root (default: eventguard)")
        parser.add_argument(
            "--share-group",
            help="shared-subscription group (default: eventguard); empty: a plain subscription",
        )
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--linger-ms", type=float, default=5.0, help="wait for more messages once one is in"
        )
        parser.add_argument(
            "--receive-maximum",
            type=int,
            default=4000,
            help="messages the broker may have in flight to this worker",
        )
        parser.add_argument("--session-expiry", type=int, default=86400)
        parser.add_argument("--no-timers", action="store_true", help="ingest only")

    def handle(self, *args, **options):
        logging.getLogger("eventguard.worker").setLevel(logging.INFO)
        config = config_from_settings(
            url=options["mqtt_url"],
            client_id=options["client_id"],
            topic_root=options["topic_root"],
            share_group=options["share_group"],
            batch_size=max(1, options["batch_size"]),
            linger=max(0.0, options["linger_ms"]) / 1000,
            receive_maximum=max(1, min(65535, options["receive_maximum"])),
            session_expiry=options["session_expiry"],
            timers=not options["no_timers"],
        )
        worker = run_worker(config)
        self.stdout.write(
            f"worker stopped: {worker.processed} messages in {worker.batches} batches"
        )
