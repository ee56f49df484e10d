import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from eventguard.core.figures import figures_report
from eventguard.core.models import Event


class Command(BaseCommand):
    help = "Reports computed from the records: `report figures --event CODE`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="report", required=True)
        figures = sub.add_parser("figures", help="every registered figure of an event")
        figures.add_argument("--event", required=True, help="event code")
        figures.add_argument("--format", choices=["json", "table"], default="table")
        figures.add_argument("--language", choices=["zh-hans", "en"], default="en")

    def handle(self, *args, report, **options):
        event = Event.objects.filter(code=options["event"]).first()
        if event is None:
            raise CommandError(_("No event with code “%(code)s”.") % {"code": options["event"]})
        data = figures_report(event)
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        label_key = "zh-Hans" if options["language"] == "zh-hans" else "en"
        rows = [(key, f["label"][label_key], str(f["value"])) for key, f in data["figures"].items()]
        width_key = max((len(r[0]) for r in rows), default=10)
        width_label = max((len(r[1]) for r in rows), default=10)
        self.stdout.write(f"{event.code}  {data['generated_at']}")
        for key, label, value in rows:
            self.stdout.write(f"{key:<{width_key}}  {label:<{width_label}}  {value:>10}")
