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
        self.stdout.write(f"{event.code}  {stats['generated_at']}")
        self.stdout.write(f"{_('stored'):<28} {stats['stored']:>12}")
        if "stored_exact" in stats:
            self.stdout.write(f"{_('stored (rows counted)'):<28} {stats['stored_exact']:>12}")
        self.stdout.write(f"{_('duplicates dropped'):<28} {stats['duplicates']:>12}")
        self.stdout.write(f"{_('dead letters'):<28} {stats['dead_letters']['total']:>12}")
        for reason, n in stats["dead_letters"]["by_reason"].items():
            self.stdout.write(f"  {reason:<26} {n:>12}")
        for status, n in stats["devices"].items():
            self.stdout.write(f"{_('devices') + ' ' + status:<28} {n:>12}")
