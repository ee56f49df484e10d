import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from eventguard.core.scenario import Progress, scenario_load, scenarios


class Command(BaseCommand):
    help = "Reference scenarios: `scenario load ciie-2021 [--scale X] [--seed N]`, `scenario list`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser("load", help="build a scenario through the services")
        load.add_argument("name")
        load.add_argument("--scale", type=float, default=1.0)
        load.add_argument("--seed", type=int, default=2021)
        load.add_argument(
            "--progress", action="store_true", help="draw the progress bar on a pipe too"
        )
        load.add_argument(
            "--only",
            action="append",
            metavar="PREFIX",
            help="load only the steps whose name starts with PREFIX (repeatable)",
        )
        sub.add_parser("list", help="known scenarios")

    def handle(self, *args, action, **options):
        if action == "list":
            for name, s in sorted(scenarios().items()):
                self.stdout.write(f"{name}  {s.description}")
            return
        started = time.monotonic()
        progress = Progress(stream=self.stderr._out, enabled=True if options["progress"] else None)
        try:
            ran = scenario_load(
                options["name"],
                scale=options["scale"],
                seed=options["seed"],
                progress=progress,
                only=options["only"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        elapsed = time.monotonic() - started
        if ran:
            self.stdout.write(
                _("Scenario %(name)s loaded (%(steps)d steps) in %(s).1f s.")
                % {"name": options["name"], "steps": len(ran), "s": elapsed}
            )
        else:
            self.stdout.write(_("Scenario %(name)s is already loaded.") % {"name": options["name"]})
