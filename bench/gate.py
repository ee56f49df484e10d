"""Venue-gate benchmark: box lookups at the gate with 100,000 boxes declared.

    python bench/gate.py                         # SQLite, 100,000 boxes, writes the figure
    python bench/gate.py --db postgres           # a fresh PostgreSQL database (dropped after)
    python bench/gate.py --boxes 20000 --no-doc  # a quick look

The database is a fresh one (a temporary SQLite file, or a PostgreSQL database created on
the server of ``--pg-url`` and dropped afterwards). It is filled through the services:
``--boxes`` boxes declared from manifests (the bulk path), of which ``--in-transit`` are
taken through the whole loop (port release, warehouse, disinfection, NAT sampling and
results, release, transport) so that they pass the gate; the others are refused.

Measured in the same run, in one process (no network):

(a) baseline -- a bare primary-key lookup of a random box (``Box.objects.get(pk=...)``);
(b) lookup   -- the gate's decision for a random box: the indexed lookup by box code and
                the reasons a refused box may not enter (``selectors.gate_lookup`` and
                ``workflow.explain``), as a read;
(c) refused  -- ``POST /api/coldchain/gate`` through Django's test client with a Bearer
                token (authentication, JSON, lookup, reasons) for boxes that are refused;
(d) pass     -- the same for boxes that pass: the entry is recorded (state, timeline,
                EPCIS event, audit entry) in one transaction.

Each prints p50/p95/p99 in milliseconds and p95 as a multiple of the baseline's. With
``--doc`` (the default) the result replaces the gate section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
# Each database's result has its own section of docs/benchmarks.md.
MARKERS = {
    db: (f"<!-- bench:gate:{db} -->", f"<!-- /bench:gate:{db} -->") for db in ("sqlite", "postgres")
}
TARGET_P95_MS = 50.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--boxes", type=int, default=100_000)
    parser.add_argument("--in-transit", type=int, default=2_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--doc", action=argparse.BooleanOptionalAction, default=True)
    return parser.parse_args()


def _psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


def prepare_environment(args) -> tuple[str, callable]:
    """Point Django at a fresh database; returns its description and a clean-up."""
    home = Path(tempfile.mkdtemp(prefix="egbench-gate-"))
    os.environ["EVENTGUARD_HOME"] = str(home)
    os.environ.setdefault("EVENTGUARD_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "eventguard.settings"
    if args.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        return "SQLite (embedded mode, WAL)", lambda: None
    name = f"egbench_gate_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _psql(args.pg_url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(args.pg_url)
    os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path="/" + name))
    os.environ.setdefault("EVENTGUARD_SECRET_KEY", "bench-only")

    def drop():
        from django.db import connections

        connections.close_all()
        _psql(args.pg_url, f'DROP DATABASE IF EXISTS "{name}"')

    version = subprocess.run(
        ["psql", args.pg_url, "-tAc", "SHOW server_version"], capture_output=True, text=True
    ).stdout.strip()
    return f"PostgreSQL {version}", drop


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered)}


def timed(function, arguments) -> list[float]:
    samples = []
    for argument in arguments:
        start = time.perf_counter()
        function(argument)
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def seed(boxes: int, in_transit: int):
    """An event, its units and people, ``boxes`` boxes, ``in_transit`` of them ready."""
    from eventguard.coldchain import services
    from eventguard.coldchain.models import NatSample
    from eventguard.coldchain.services import BoxRow, ResultRow
    from eventguard.coldchain.testing import GTIN, make_consignment, make_site
    from eventguard.core.testing import make_event

    event = make_event(code="bench-gate")
    site = make_site(event)
    codes, ready = [], []
    per_manifest = 10_000
    for start in range(0, boxes, per_manifest):
        consignment = make_consignment(event, site.exhibitor, reference=f"BENCH-{start:06d}")
        rows = [
            BoxRow(
                row=i + 2,
                code=f"CC-{n:07d}",
                gtin=GTIN,
                product="Frozen beef",
                temperature_class="frozen",
                weight_kg="12.5",
                smallest_package="1 kg vacuum pack",
            )
            for i, n in enumerate(range(start, min(start + per_manifest, boxes)))
        ]
        declared = services.box_declare_bulk(actor=None, consignment=consignment, rows=rows)
        codes.extend(b.code for b in declared)
        if len(ready) < in_transit:
            ready.extend(declared[: in_transit - len(ready)])
        print(f"  declared {len(codes):>7,} boxes", file=sys.stderr, flush=True)
    when = dt.datetime(2021, 10, 21, 9, tzinfo=dt.UTC)
    by_consignment = {}
    for box in services.load_boxes([b.pk for b in ready]):
        by_consignment.setdefault(box.consignment_id, []).append(box)
    for group in by_consignment.values():
        services.consignment_port_release(
            actor=None,
            consignment=group[0].consignment,
            iq_certificate_no="IQ-BENCH",
            at=when,
            boxes=group,
        )
    ready = services.load_boxes([b.pk for b in ready])
    services.batch_receive(
        actor=None,
        event=event,
        warehouse=site.warehouse,
        number="B-1",
        received_at=when,
        boxes=ready,
    )
    services.disinfection_record_bulk(
        actor=None, boxes=ready, agent="Peracetic acid", operator="Bench", performed_at=when
    )
    services.sample_take_bulk(actor=None, boxes=ready, laboratory=site.laboratory, sampled_at=when)
    samples = NatSample.objects.filter(box__in=[b.pk for b in ready])
    services.nat_results_record_bulk(
        actor=None,
        event=event,
        rows=[
            ResultRow(
                row=i + 2,
                sample_code=s.sample_code,
                result="negative",
                reported_at=when + dt.timedelta(hours=20),
            )
            for i, s in enumerate(samples)
        ],
    )
    services.box_release_bulk(
        actor=None, boxes=ready, certificate_no="EX-BENCH", released_at=when + dt.timedelta(days=1)
    )
    services.transport_depart(
        actor=None,
        event=event,
        number="T-1",
        vehicle_plate="沪A00001",
        departed_at=when + dt.timedelta(days=2),
        boxes=ready,
    )
    print(f"  {len(ready):,} boxes in transit", file=sys.stderr, flush=True)
    ready_codes = {b.code for b in ready}
    refused = [c for c in codes if c not in ready_codes]
    return event, site, refused, [b.code for b in ready]


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


def main() -> None:
    args = parse_args()
    database, cleanup = prepare_environment(args)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    try:
        results, seeding = run(args)
    finally:
        cleanup()
    report = render(args, database, results, seeding)
    print(report)
    if args.doc:
        write_doc(report, args.db)
        print(f"written to {DOC.relative_to(ROOT)}", file=sys.stderr)


def run(args):
    from django.core.management import call_command
    from django.test import Client

    from eventguard.coldchain import selectors, workflow
    from eventguard.coldchain.models import Box
    from eventguard.core.services import token_create

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    event, site, refused, ready = seed(args.boxes, args.in_transit)
    seeding = time.monotonic() - started
    rng = random.Random(2021)
    pks = list(Box.objects.filter(event=event).values_list("pk", flat=True))
    lookups = args.lookups
    _token, raw = token_create(actor=None, user=site.staff, name="bench")
    client = Client(SERVER_NAME="localhost")  # an allowed host of the default settings
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def api(code):
        response = client.post(
            "/api/coldchain/gate",
            {"event": event.code, "code": code},
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 200, response.content

    def decide(code):
        box = selectors.gate_lookup(event=event, scanned=code)
        workflow.explain(box)

    for code in rng.sample(refused, 50):  # warm the caches of both paths
        decide(code)
        api(code)
    results = {
        "baseline": timed(lambda pk: Box.objects.get(pk=pk), rng.choices(pks, k=lookups)),
        "lookup": timed(decide, rng.choices(refused, k=lookups)),
        "refused": timed(api, rng.choices(refused, k=lookups)),
        "pass": timed(api, rng.sample(ready, min(len(ready), lookups))),
    }
    entered = Box.objects.filter(event=event, state="entered_venue").count()
    assert entered == min(len(ready), lookups), entered
    return results, seeding


LABELS = {
    "baseline": "bare primary-key lookup (baseline)",
    "lookup": "gate decision: lookup by code + reasons (read)",
    "refused": "POST /api/coldchain/gate, box refused",
    "pass": "POST /api/coldchain/gate, box passes (entry recorded)",
}


def render(args, database: str, results: dict, seeding: float) -> str:
    base = percentiles(results["baseline"])["p95"]
    start, end = MARKERS[args.db]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        start,
        f"## Venue gate (`bench/gate.py`), {database.split()[0]}",
        "",
        f"Measured {dt.datetime.now(dt.UTC).date().isoformat()} (UTC) on {machine()} "
        f"(load average {load} when "
        f"the measurements ended: the machine was shared); database {database}. "
        f"{args.boxes:,} boxes declared through the bulk services ({seeding:.0f} s), "
        f"{args.in_transit:,} of them taken through the whole loop. "
        f"{args.lookups:,} gate requests per line, in one process through Django's test "
        "client (no network), random boxes. Target: p95 ≤ 50 ms with 100,000 boxes.",
        "",
        "| what | p50 ms | p95 ms | p99 ms | p95 ÷ baseline p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in LABELS.items():
        p = percentiles(results[key])
        lines.append(
            f"| {label} | {p['p50']:.2f} | {p['p95']:.2f} | {p['p99']:.2f} | "
            f"{p['p95'] / base:.1f}× |"
        )
    worst = max(percentiles(results[k])["p95"] for k in ("refused", "pass"))
    verdict = "met" if worst <= TARGET_P95_MS else "NOT met"
    lines += [
        "",
        f"Target {verdict}: the slowest gate request's p95 is {worst:.1f} ms. The lookup is "
        "one query on the unique index (event, code) or (event, EPC); a refusal adds the "
        "queries that name the missing preconditions; a pass adds the write of the entry "
        "(state, timeline, EPCIS event, audit entry) in one transaction.",
        "",
        f"Command: `python bench/gate.py --db {args.db} --boxes {args.boxes} "
        f"--lookups {args.lookups}`",
        end,
    ]
    return "\n".join(lines)


def write_doc(section: str, db: str) -> None:
    """Replace this database's gate section of docs/benchmarks.md, leaving others alone."""
    start, end = MARKERS[db]
    text = (
        DOC.read_text()
        if DOC.exists()
        else "# Benchmarks\n\nMeasured by the scripts in `bench/`.\n"
    )
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _old, after = rest.split(end, 1)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text)


if __name__ == "__main__":
    main()
