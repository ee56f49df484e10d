"""Page benchmark: the command dashboard and the list pages under 50 concurrent users.

    python bench/pages.py                              # SQLite, scale 10, 50 users, 60 s
    python bench/pages.py --db postgres                # a fresh PostgreSQL database
    python bench/pages.py --scale 1 --users 5 --duration 15 --no-doc   # a quick look
    python bench/pages.py --db postgres --reuse eg_pages   # keep the prepared database

The database is a fresh one (a temporary SQLite file, or a PostgreSQL database created on
the server of ``--pg-url`` and dropped afterwards); with ``--reuse NAME`` it is kept between
runs instead (a directory for SQLite, a database name for PostgreSQL) and only what is
missing is prepared. It is filled through the services: the reference scenario
``ciie-2021`` at ``--scale``, then live data -- ``--rounds`` telemetry messages per device
through the ingest service (the simulator, with faults injected, which raise alarms and
clear some of them), up to ``--handle`` open alarms acknowledged or cleared by hand, work
orders dispatched from open alarms and taken along their steps -- and ``--users`` people
with a commander or a supervisor role and a password. Just before every run, the devices'
last reports are brought forward to now (``venue_live``): the venue is live, as at an event
under way, however long ago the database was prepared. On PostgreSQL the planner's statistics
are then brought up to date (VACUUM ANALYZE), as autovacuum would have them in a deployment.

The real server is started (``eventguard serve --workers N`` on a free port, uvicorn), each
person logs in through the login page, opens their dashboard at a random moment of the first
``--ramp`` seconds (default 10, the warm-up: people arrive over a few seconds; ``--ramp 1``
for a wall of dashboards opening in the same second), and one client thread per person
walks, for ``--duration`` seconds after the warm-up, through the pages in a random order,
pausing a random think time (mean ``--think`` seconds, the dashboard's own refresh period)
between requests:

- the command dashboard page and its live data, asked as the page's script does: each
  person's first request is the first poll of their dashboard, with the halls' layout
  (``?layout=1``, and the figures; measured in its own row, within the warm-up too, since it
  comes once); each later poll sends the layout version the person holds
  (``?layout=<version>``: the statuses, and the layout only if it changed), every tenth
  with the key figures and the funnel (counted apart), and the next one again when an answer
  came without them (a first poll before they were computed, or while another request
  computed them), the others without (``&figures=0``);
- the alarm list, the work-order list, the hidden-danger list, the equipment list and the
  box list (first page, no filter);
- the baseline, measured in the same run: a static file (the logo) served by the same
  server processes, so the ratio p95 / baseline p95 leaves out the machine and its load.

It prints p50/p95/p99 per page in milliseconds, p95 as a multiple of the baseline's, the
requests per second and the errors (any answer but 200 is one; a run with errors does not
pass). ``--json FILE`` saves the figures; with ``--doc`` (the default) the result replaces
this database's section of docs/benchmarks.md; ``--markdown`` prints that section only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
MARKERS = {
    db: (f"<!-- bench:pages:{db} -->", f"<!-- /bench:pages:{db} -->")
    for db in ("sqlite", "postgres")
}
TARGET_P95_MS = 200.0
SCENARIO = "ciie-2021"
USER_PREFIX = "bench-pages-"
PASSWORD = "Lotus-harbour-7319"  # noqa: S105 - people made for the benchmark only

# (key, label); the order of the table.
PAGES = [
    ("dashboard", "command dashboard page"),
    ("live_layout", "dashboard live data, with the halls' layout (first poll)"),
    ("live_full", "dashboard live data, with figures (1 poll in 10)"),
    ("live", "dashboard live data (each second)"),
    ("alarms", "alarm list"),
    ("work_orders", "work-order list"),
    ("hazards", "hidden-danger list"),
    ("equipment", "equipment list"),
    ("boxes", "box list"),
    ("baseline", "static file (baseline)"),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scale", type=float, default=10.0, help="scenario scale (default 10)")
    parser.add_argument(
        "--skip-step",
        action="append",
        default=[],
        metavar="PREFIX",
        help="leave out the scenario steps whose name starts with PREFIX (repeatable)",
    )
    parser.add_argument("--rounds", type=int, default=20, help="telemetry messages per device")
    parser.add_argument("--handle", type=int, default=200, help="open alarms handled by hand")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds not measured")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between requests")
    parser.add_argument(
        "--ramp",
        type=float,
        default=10.0,
        help="seconds over which the people open their dashboards (within the warm-up)",
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument(
        "--reuse",
        metavar="NAME",
        help="keep the prepared database: a directory (SQLite) or a database name (PostgreSQL)",
    )
    parser.add_argument("--json", metavar="FILE", help="save the figures as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the docs section only")
    parser.add_argument("--doc", action=argparse.BooleanOptionalAction, default=True)
    return parser.parse_args(argv)


# ---------------------------------------------------------------- the database


def _psql(url: str, sql: str, *, capture: bool = False) -> str:
    run = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-tAqc", sql],
        check=True,
        capture_output=capture,
        text=True,
    )
    return (run.stdout or "").strip()


def prepare_environment(args) -> tuple[str, callable]:
    """Point Django (and the server started later) at the database; returns its
    description and a clean-up."""
    os.environ.setdefault("EVENTGUARD_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "eventguard.settings"
    os.environ.setdefault("EVENTGUARD_SECRET_KEY", "bench-only")
    if args.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        if args.reuse:
            home = Path(args.reuse).resolve()
            home.mkdir(parents=True, exist_ok=True)
        else:
            home = Path(tempfile.mkdtemp(prefix="egbench-pages-"))
        os.environ["EVENTGUARD_HOME"] = str(home)
        return "SQLite (embedded mode, WAL)", lambda: None
    os.environ["EVENTGUARD_HOME"] = tempfile.mkdtemp(prefix="egbench-pages-")
    name = args.reuse or f"egbench_pages_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    exists = _psql(args.pg_url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'", capture=True)
    if not exists:
        _psql(args.pg_url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(args.pg_url)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    version = _psql(args.pg_url, "SHOW server_version", capture=True)

    def drop():
        from django.db import connections

        connections.close_all()
        if not args.reuse:
            _psql(args.pg_url, f'DROP DATABASE IF EXISTS "{name}"')

    return f"PostgreSQL {version}", drop


def prepare(args) -> dict:
    """The scenario, the live data and the people; what is already there is kept."""
    from django.core.management import call_command

    from eventguard.command.models import WorkOrder
    from eventguard.core.models import Event
    from eventguard.core.scenario import Progress, scenario_load, scenarios, steps_of
    from eventguard.telemetry.models import TelemetryMessage

    timings = {}
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    skipped = tuple(args.skip_step)
    only = [s.name for s in steps_of(SCENARIO) if not (skipped and s.name.startswith(skipped))]
    ran = scenario_load(SCENARIO, scale=args.scale, progress=Progress(), only=only)
    timings["scenario_s"] = time.monotonic() - started if ran else None
    event = Event.objects.get(code=scenarios()[SCENARIO].event_code)
    started = time.monotonic()
    if not TelemetryMessage.objects.filter(event=event).exists():
        telemetry(event, rounds=args.rounds)
    if not WorkOrder.objects.filter(event=event).exists():
        handle_alarms(event, limit=args.handle)
    timings["live_s"] = time.monotonic() - started
    timings["brought_forward"] = venue_live(event)
    make_people(event, args.users)
    return {"event": event.code, **timings, "counts": counts(event)}


def telemetry(event, *, rounds: int) -> None:
    """``rounds`` messages per device through the ingest service, from the simulator with
    faults injected: they raise alarms, and some clear by themselves."""
    from eventguard.command.simulator import IngestSink, Simulator, event_devices

    devices = event_devices(event)
    simulator = Simulator(devices, fault_rate=0.02, seed=2021)
    sink = IngestSink(event_code=event.code)
    for r in range(rounds):
        batch = simulator.batch(len(devices))
        for start in range(0, len(batch), 1000):
            sink(batch[start : start + 1000])
        print(f"  telemetry round {r + 1}/{rounds}", file=sys.stderr, flush=True)


def venue_live(event) -> int:
    """The devices' last reports brought forward to now, each keeping its distance from the
    latest one, as if they had gone on reporting the same states: a database prepared more
    than a few minutes before the run would otherwise show every device offline (the whole
    venue's controllers gone silent, not the event the target is about), and each run would
    measure a different venue from the one before. The one change not made through the
    services: sending the messages again would change the alarms too (a fault cleared by
    hand raised again by the next report of it), and so the venue. Returns how many devices
    were brought forward."""
    from django.db.models import F, Max
    from django.utils import timezone

    from eventguard.telemetry.models import Device

    devices = Device.objects.filter(event=event, last_seen_at__isnull=False)
    latest = devices.aggregate(latest=Max("last_seen_at"))["latest"]
    if latest is None:
        return 0
    shift = timezone.now() - latest
    return devices.update(
        last_seen_at=F("last_seen_at") + shift,
        stale_at=F("stale_at") + shift,
        latest_at=F("latest_at") + shift,
    )


def handle_alarms(event, *, limit: int) -> None:
    """Up to ``limit`` open alarms handled by a commander: a quarter cleared by hand, a
    quarter acknowledged, half with a work order dispatched, the work orders taken along
    their steps by their assignees."""
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import timezone

    from eventguard.alerts import services as alerts
    from eventguard.alerts.models import OPEN_STATES, Alarm
    from eventguard.command import services as command
    from eventguard.command.models import WorkOrder
    from eventguard.core.models import RoleAssignment

    commander = (
        RoleAssignment.objects.filter(event=event, role="commander")
        .select_related("user")
        .order_by("pk")
        .first()
        .user
    )
    field_staff = [
        a.user
        for a in RoleAssignment.objects.filter(event=event, role__in=["inspector", "post_staff"])
        .select_related("user")
        .order_by("pk")
    ]
    rng = random.Random(2021)
    open_alarms = list(Alarm.objects.filter(event=event, state__in=OPEN_STATES).order_by("pk"))
    rng.shuffle(open_alarms)
    open_alarms = open_alarms[:limit]
    handled = {"cleared": 0, "acknowledged": 0, "dispatched": 0, "moved": 0, "refused": 0}

    def dispatch(alarm) -> bool:
        """To the person on post there, else to field staff who may see it."""
        for assignee in [None, *rng.sample(field_staff, min(8, len(field_staff)))]:
            try:
                command.work_order_dispatch(
                    actor=commander,
                    alarm=alarm,
                    assignee=assignee,
                    # Some deadlines pass during the run: overdue work orders.
                    deadline=timezone.now() + dt.timedelta(minutes=rng.choice([1, 15, 30, 60])),
                    instructions="Go and check.",
                )
                return True
            except ValidationError:
                continue
        return False

    for i, alarm in enumerate(open_alarms):
        if i % 4 == 0:
            alerts.alarm_clear(actor=commander, alarm=alarm, note="Checked on site.")
            handled["cleared"] += 1
            continue
        if i % 4 == 1:
            alerts.alarm_acknowledge(actor=commander, alarm=alarm, note="Seen.")
            handled["acknowledged"] += 1
        if i % 2 == 1:
            handled["dispatched" if dispatch(alarm) else "refused"] += 1
    steps = ["accept", "arrive", "complete"]
    for i, work in enumerate(
        WorkOrder.objects.filter(event=event, assignee__isnull=False)
        .select_related("assignee")
        .order_by("pk")
    ):
        for action in steps[: i % 4]:
            try:
                work = command.work_order_transition(
                    actor=work.assignee,
                    work_order=work,
                    action=action,
                    note="Done: back in service." if action == "complete" else "",
                )
                handled["moved"] += 1
            except (ValidationError, PermissionDenied):
                handled["refused"] += 1
                break
    print(f"  live data: {handled}", file=sys.stderr, flush=True)


def make_people(event, users: int) -> None:
    """``users`` people who log in: commanders and supervisors of every domain."""
    from eventguard.core import services
    from eventguard.core.models import Domain, User

    for i in range(users):
        username = f"{USER_PREFIX}{i + 1:03d}"
        if User.objects.filter(username=username).exists():
            continue
        user = services.person_create(
            actor=None, username=username, display_name=f"Bench {i + 1}", password=PASSWORD
        )
        role = "commander" if i % 2 == 0 else "supervisor"
        domains = [] if role == "commander" else list(Domain.values)
        services.role_assign(actor=None, user=user, event=event, role=role, domains=domains)


def counts(event) -> dict:
    from eventguard.alerts.models import OPEN_STATES, Alarm
    from eventguard.coldchain.models import Box
    from eventguard.command.models import WorkOrder
    from eventguard.equipment.models import Equipment
    from eventguard.hazards.models import Hazard
    from eventguard.telemetry.models import Device, TelemetryMessage

    alarms = Alarm.objects.filter(event=event)
    return {
        "equipment": Equipment.objects.filter(event=event).count(),
        "boxes": Box.objects.filter(event=event).count(),
        "hidden_dangers": Hazard.objects.filter(event=event).count(),
        "devices": Device.objects.filter(event=event).count(),
        "messages": TelemetryMessage.objects.filter(event=event).count(),
        "alarms": alarms.count(),
        "open_alarms": alarms.filter(state__in=OPEN_STATES).count(),
        "work_orders": WorkOrder.objects.filter(event=event).count(),
    }


def paths(event_code: str) -> dict[str, str]:
    from django.templatetags.static import static
    from django.urls import reverse

    return {
        "dashboard": reverse("command:dashboard", args=[event_code]),
        # the page's poll; which of the three live rows it counts in is the walk's choice
        "live": reverse("command:dashboard_data", args=[event_code]),
        "alarms": reverse("alerts:alarm_list", args=[event_code]),
        "work_orders": reverse("command:work_order_list", args=[event_code]),
        "hazards": reverse("hazards:hazard_list", args=[event_code]),
        "equipment": reverse("equipment:equipment_list", args=[event_code]),
        "boxes": reverse("coldchain:box_list", args=[event_code]),
        "baseline": static("eventguard/logo.svg"),
    }


# ---------------------------------------------------------------- the server and the clients


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "eventguard", "serve", "--port", str(port)]
        + ["--workers", str(workers)],
        env=os.environ.copy(),
    )
    ends = time.monotonic() + 60
    while time.monotonic() < ends:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit code {server.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit("the server did not answer within 60 s")


class Browser:
    """One person's connection (kept alive, as a browser does) and cookies."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = None

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle kept-alive connection: a browser reconnects.
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, data

    def log_in(self, username: str) -> None:
        status, page = self.request("GET", "/login/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or token is None:
            raise SystemExit(f"login page: HTTP {status}")
        form = urlencode(
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        )
        status, _ = self.request(
            "POST",
            "/login/",
            form.encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"{username} could not log in (HTTP {status})")


def load(args, port: int, urls: dict[str, str]) -> dict:
    """Every person in a thread of their own; samples taken after the warm-up only."""
    browsers = []
    for i in range(args.users):
        browser = Browser(port)
        browser.log_in(f"{USER_PREFIX}{i + 1:03d}")
        browsers.append(browser)
    samples = {key: [] for key, _label in PAGES}
    errors = {key: 0 for key, _label in PAGES}
    failures: list[str] = []
    lock = threading.Lock()
    started = time.monotonic()
    measure_from = started + args.warmup
    ends = measure_from + args.duration

    def walk(n: int, browser: Browser) -> None:
        rng = random.Random(n)
        # People arrive over the first --ramp seconds, as at the start of a shift (--ramp 1:
        # a wall of dashboards opening in the same second, after a restart, say).
        time.sleep(rng.uniform(0, max(args.ramp, 0.1)))
        # The person's dashboard, opened once: its first poll brings the halls' layout (and
        # the figures); it is measured even within the warm-up, as it comes once only.
        held = "1"  # the layout version the page holds; "1" asks for it
        polls = 0
        figures_due = True  # asked for and not received yet
        while True:
            order = list(urls)
            rng.shuffle(order)
            if polls == 0:
                order.remove("live")
                order.insert(0, "live")
            for slot in order:
                key, url = slot, urls[slot]
                if slot == "live":  # as dashboard.js asks
                    full = figures_due or polls % 10 == 0
                    key = "live_layout" if polls == 0 else "live_full" if full else "live"
                    url += f"?layout={held}" + ("" if full else "&figures=0")
                    polls += 1
                begin = time.monotonic()
                if begin >= ends:
                    return
                try:
                    status, body = browser.request("GET", url)
                except OSError as exc:
                    status, body = f"{type(exc).__name__}", b""
                elapsed = (time.monotonic() - begin) * 1000
                if slot == "live" and status == 200:
                    answer = json.loads(body)
                    held = answer["layout_version"]
                    if full:
                        figures_due = answer["figures"] is None
                if begin >= measure_from or key == "live_layout":
                    with lock:
                        samples[key].append(elapsed)
                        if status != 200:
                            errors[key] += 1
                            if len(failures) < 20:
                                failures.append(f"{url}: {status}")
                if args.think:
                    time.sleep(rng.uniform(0, 2 * args.think))

    threads = [
        threading.Thread(target=walk, args=(n, b), daemon=True) for n, b in enumerate(browsers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    measured = time.monotonic() - measure_from
    return {"samples": samples, "errors": errors, "failures": failures, "seconds": measured}


# ---------------------------------------------------------------- figures and report


def percentiles(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "mean": statistics.fmean(ordered),
    }


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def figures(args, database: str, prepared: dict, result: dict) -> dict:
    pages = {key: percentiles(result["samples"][key]) for key, _label in PAGES}
    base = pages["baseline"]["p95"] or 1.0
    for key, p in pages.items():
        p["ratio"] = p["p95"] / base
        p["errors"] = result["errors"][key]
    total = sum(p["n"] for p in pages.values())
    worst_key = max((k for k in pages if k != "baseline"), key=lambda k: pages[k]["p95"])
    errors = sum(result["errors"].values())
    return {
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "machine": machine(),
        "load_average": os.getloadavg(),
        "database": database,
        "command": command_line(args),
        "settings": {
            "scale": args.scale,
            "users": args.users,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "think_s": args.think,
            "ramp_s": args.ramp,
            "workers": args.workers,
            "rounds": args.rounds,
            "skipped_steps": args.skip_step,
        },
        "prepared": prepared,
        "pages": pages,
        "requests": total,
        "requests_per_s": total / result["seconds"],
        "errors": errors,
        "failures": result["failures"],
        "worst": {"page": worst_key, "p95": pages[worst_key]["p95"]},
        "passed": errors == 0 and pages[worst_key]["p95"] <= TARGET_P95_MS,
    }


def command_line(args) -> str:
    parts = ["python bench/pages.py", f"--db {args.db}", f"--scale {args.scale:g}"]
    parts += [f"--users {args.users}", f"--duration {args.duration:g}"]
    parts += [f"--think {args.think:g}", f"--workers {args.workers}"]
    parts += [f"--skip-step {step}" for step in args.skip_step]
    if args.rounds != 20:
        parts.append(f"--rounds {args.rounds}")
    if args.reuse:
        parts.append(f"--reuse {args.reuse}")
    return " ".join(parts)


def table(fig: dict) -> list[str]:
    lines = [
        "| page | requests | p50 ms | p95 ms | p99 ms | p95 ÷ baseline p95 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in PAGES:
        p = fig["pages"][key]
        if not p["n"]:
            continue  # not reached in this run (see unreached())
        lines.append(
            f"| {label} | {p['n']:,} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | "
            f"{p['ratio']:.1f}× | {p['errors']} |"
        )
    return lines


def unreached(fig: dict) -> str:
    """The pages no one asked for in the measured time (the figures poll comes every tenth
    time a person's dashboard polls, which a short walk among the pages may not reach)."""
    missing = [label for key, label in PAGES if not fig["pages"][key]["n"]]
    return f" Not asked for in this run: {'; '.join(missing)}." if missing else ""


def render(fig: dict, db: str) -> str:
    s, prepared, c = fig["settings"], fig["prepared"], fig["prepared"]["counts"]
    start, end = MARKERS[db]
    load_avg = ", ".join(f"{x:.1f}" for x in fig["load_average"])
    seeded = f" (loaded in {prepared['scenario_s']:.0f} s)" if prepared.get("scenario_s") else ""
    worst = fig["worst"]
    label = dict(PAGES)[worst["page"]]
    if fig["passed"]:
        verdict = (
            f"Target met: the slowest page's p95 is {worst['p95']:.0f} ms ({label}), no errors."
        )
    else:
        verdict = (
            f"Target NOT met: the slowest page's p95 is {worst['p95']:.0f} ms ({label}); "
            f"{fig['errors']} errors."
        )
    lines = [
        start,
        f"## Dashboard and list pages (`bench/pages.py`), {fig['database'].split()[0]}",
        "",
        f"Measured {fig['date']} (UTC) on {fig['machine']} (load average {load_avg} when the "
        f"measurement ended: the machine was shared, and the clients ran on it too); database "
        f"{fig['database']}. The reference scenario at scale {s['scale']:g}{seeded}: "
        f"{c['equipment']:,} pieces of equipment, {c['boxes']:,} boxes, "
        f"{c['hidden_dangers']:,} hidden dangers, {c['devices']:,} devices with "
        f"{c['messages']:,} telemetry messages, {c['alarms']:,} alarms ({c['open_alarms']:,} "
        f"open) and {c['work_orders']:,} work orders, all made through the services; the "
        f"last reports of {prepared.get('brought_forward', 0):,} devices brought forward to "
        f"the start of the run, as at an event under way (none offline for having fallen "
        f"silent since the database was prepared). "
        f"`eventguard serve --workers {s['workers']}` (uvicorn); {s['users']} people "
        f"(commanders and supervisors) logged in, each opening their dashboard at a random "
        f"moment of the first {s.get('ramp_s', 1):g} s, then a client thread with its own "
        f"kept-alive connection walking the pages in a random order with a random pause of "
        f"{s['think_s']:g} s on average between requests; {s['duration_s']:g} s measured after "
        f"{s['warmup_s']:g} s of warm-up. Target: p95 ≤ 200 ms with 50 concurrent users, "
        "no errors.",
        "",
        *table(fig),
        "",
        f"{fig['requests']:,} requests in {s['duration_s']:g} s, "
        f"{fig['requests_per_s']:.1f} requests/s. {verdict}{unreached(fig)}",
        "",
        f"Command: `{fig['command']}`",
        end,
    ]
    return "\n".join(lines)


def write_doc(section: str, db: str) -> None:
    """Replace this database's pages section of docs/benchmarks.md, leaving others alone."""
    start, end = MARKERS[db]
    text = DOC.read_text()
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _old, after = rest.split(end, 1)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


def main(argv=None) -> None:
    args = parse_args(argv)
    database, cleanup = prepare_environment(args)
    # An installed eventguard (or PYTHONPATH) first; this checkout's src otherwise.
    sys.path.append(str(ROOT / "src"))
    import django

    django.setup()
    server = None
    try:
        prepared = prepare(args)
        print(f"  prepared: {prepared}", file=sys.stderr, flush=True)
        urls = paths(prepared["event"])
        from django.db import connection, connections

        if connection.vendor == "postgresql":
            # The planner's statistics, as autovacuum (on by default) would have them by now:
            # a server may run without it, and a fresh load's guesses can make a list's
            # query a hundred times slower than a deployment's.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        connections.close_all()  # the server's processes open their own
        port = free_port()
        server = start_server(port, args.workers)
        result = load(args, port, urls)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        cleanup()
    fig = figures(args, database, prepared, result)
    section = render(fig, args.db)
    if args.markdown:
        print(section)
    else:
        print("\n".join(table(fig)))
        print(
            f"{fig['requests']:,} requests, {fig['requests_per_s']:.1f}/s, "
            f"{fig['errors']} errors; {'PASS' if fig['passed'] else 'FAIL'}"
        )
        for failure in fig["failures"]:
            print(f"  error: {failure}")
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=2, ensure_ascii=False))
    if args.doc:
        write_doc(section, args.db)
        print(f"written to {DOC.relative_to(ROOT)}", file=sys.stderr)
    if not fig["passed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
