from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import translation

from eventguard.core.demo import DEMO_EVENT, demo_users
from eventguard.core.models import Event
from eventguard.core.scenario import Progress, scenario_load

from .serve import serve


class Command(BaseCommand):
    help = "Run the demo: the reference event on SQLite, a login per role, served on port 8000."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="prepare the data and stop")
        parser.add_argument(
            "--simulate-rate",
            type=float,
            default=20.0,
            help="telemetry messages per second the built-in simulator sends (0: none)",
        )

    def handle(self, *args, host, port, no_serve, simulate_rate=20.0, **options):
        translation.activate("en")
        self.stdout.write(f"EventGuard demo — data in {settings.HOME}")
        call_command("migrate", interactive=False, verbosity=0)
        if not Event.objects.exists():
            self.stdout.write("Loading the reference scenario ciie-2021 (first run only)…")
            scenario_load("ciie-2021", progress=Progress(stream=self.stderr._out))
        elif not Event.objects.filter(code=DEMO_EVENT).exists():
            self.stderr.write("The database holds other events; the demo needs ciie-2021.")
            return
        logins = demo_users()
        url = f"http://{host}:{port}/"
        self.stdout.write("")
        self.stdout.write(f"Open {url} and log in as one of:")
        for role, username, password in logins:
            self.stdout.write(f"  {role:<16} {username:<22} {password}")
        self.stdout.write(f"(saved in {settings.HOME / 'demo-logins.json'})")
        if no_serve:
            return
        self.stdout.write(f"Command dashboard: {url}e/{DEMO_EVENT}/command/")
        if simulate_rate > 0:
            from eventguard.command.simulator import start_in_thread

            start_in_thread(Event.objects.get(code=DEMO_EVENT), rate=simulate_rate)
            self.stdout.write(f"Simulated telemetry: {simulate_rate:g} messages/s.")
        self.stdout.write("Serving until Ctrl-C.")
        self.stdout.flush() if hasattr(self.stdout, "flush") else None
        serve(host=host, port=port)
