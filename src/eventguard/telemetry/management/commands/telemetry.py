import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from eventguard.core.models import Event
from eventguard.telemetry.selectors import telemetry_stats


class Command(BaseCommand):
    help = "Telemetry: `telemetry stats --event CODE [--format json]`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        stats = sub.add_parser("stats", help="messages stored, duplicates, dead letters by reason")
        stats.add_argument("--event", required=True)
        stats.add_argument("--format", choices=["json", "table"], default="table")
        stats.add_argument(
            "--exact", action="store_true", help="also count the stored rows one by one"
        )

    def handle(self, *args, action, **options):
        event = Event.objects.filter(code=options["event"]).first()
        if event is None:
            raise CommandError(_("No event with code “%(code)s”.") % {"code": options["event"]})
        stats = telemetry_stats(event, exact=options["exact"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(stats, ensure_ascii=False, indent=2))
            return
        rows = [(_("stored"), stats["stored"])]
        if "stored_exact" in stats:
            rows.append((_("stored (rows counted)"), stats["stored_exact"]))
        rows += [
            (_("duplicates dropped"), stats["duplicates"]),
            (_("dead letters"), stats["dead_letters"]["total"]),
        ]
        rows += [(f"  {reason}", n) for reason, n in stats["dead_letters"]["by_reason"].items()]
        device_label = _("devices")
        rows += [(f"{device_label} {status}", n) for status, n in stats["devices"].items()]
        self.stdout.write(f"{event.code}  {stats['generated_at']}")
        for label, value in rows:
            self.stdout.write(f"{label:<28} {value:>12}")
