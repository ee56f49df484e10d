"""The list pages and the dashboard one request at a time, in process: mean time, CPU and a
profile per page.

    python bench/list_pages.py                          # SQLite, scale 2, in a temporary directory
    python bench/list_pages.py --db postgres --reuse eg_lists   # keep the prepared database
    python bench/list_pages.py --reuse /tmp/eg-lists --profile alarms   # cProfile, top 25
    python bench/list_pages.py --reuse /tmp/eg-lists --lang en   # the pages in English

The database is prepared as bench/pages.py prepares it (the reference scenario ``ciie-2021``
at ``--scale`` through the services, then live data and the bench people); with ``--reuse``
it is kept and only what is missing is prepared; then the database's statistics are brought
up to date (VACUUM ANALYZE, or ANALYZE on SQLite). A commander (in ``--lang``, their language)
is logged in to Django's test client, which asks for each list page (first page, no filter)
``--warmup`` times unmeasured, then ``--repeat`` times measured, and prints the mean and
median in milliseconds, the mean CPU time of this process (the Python, without the
database's time; steadier on a busy machine) and, on PostgreSQL, the mean CPU time of the
database's process serving the connection (read from /proc: the server on this machine).
Besides the five lists: the dashboard page and its poll as the page asks each second
(``live``: the layout version it holds, without the figures), in a venue made live as
bench/pages.py makes it (the devices' last reports brought forward to now). No server, no
concurrency: it shows the CPU a page costs, to compare before and after a change on the
same machine; bench/pages.py is the load test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "src"))

import pages  # noqa: E402 - bench/pages.py, which prepares the database

LIST_PAGES = ["alarms", "work_orders", "hazards", "equipment", "boxes"]
PAGES = ["dashboard", "live", *LIST_PAGES]
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def backend_cpu(connection) -> float | None:
    """CPU seconds the PostgreSQL process serving ``connection`` has used so far, when it
    runs on this machine (None otherwise: SQLite, whose work is this process's own)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--pg-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scale", type=float, default=2.0, help="scenario scale (default 2)")
    parser.add_argument("--rounds", type=int, default=20, help="telemetry messages per device")
    parser.add_argument("--handle", type=int, default=200, help="open alarms handled by hand")
    parser.add_argument("--reuse", metavar="NAME", help="as bench/pages.py --reuse")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--lang", default="zh-hans", help="the person's language (zh-hans, the default, or en)"
    )
    parser.add_argument(
        "--page", action="append", choices=PAGES, help="only these pages (repeatable)"
    )
    parser.add_argument(
        "--profile", action="append", choices=PAGES, default=[], help="profile this page"
    )
    parser.add_argument("--top", type=int, default=25, help="profile lines shown")
    parser.add_argument("--sort", default="tottime", help="profile order (tottime, cumulative)")
    args = parser.parse_args(argv)
    args.skip_step, args.users = [], 2
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    _description, clean_up = pages.prepare_environment(args)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from eventguard.core.models import User
    from eventguard.core.services import person_set_language

    try:
        prepared = pages.prepare(args)
        with connection.cursor() as cursor:
            # The planner's statistics, as autovacuum would have them by now (a server
            # may run without it): a list's query planned on a fresh load's guesses
            # can take a hundred times as long.
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        urls = pages.paths(prepared["event"])
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        commander = User.objects.get(username=f"{pages.USER_PREFIX}001")
        if commander.language != args.lang:
            person_set_language(actor=commander, language=args.lang)
        client = Client()
        client.force_login(commander)
        held = client.get(urls["live"], {"layout": "1", "figures": "0"}).json()["layout_version"]
        urls["live"] += f"?layout={held}&figures=0"
        for key in args.page or PAGES:
            url = urls[key]
            for _ in range(args.warmup):
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")
            queries = []  # one request's statements (the request-started signal empties
            # Django's own log of them)
            with connection.execute_wrapper(
                lambda execute, sql, *rest, log=queries: log.append(sql) or execute(sql, *rest)
            ):
                client.get(url)
            times, cpu = [], []
            begin_db = backend_cpu(connection)
            for _ in range(args.repeat):
                begin, begin_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                times.append((time.perf_counter() - begin) * 1000)
                cpu.append((time.process_time() - begin_cpu) * 1000)
            end_db = backend_cpu(connection)
            db = (
                f"  CPU of PostgreSQL {(end_db - begin_db) * 1000 / args.repeat:6.1f} ms"
                if begin_db is not None and end_db is not None
                else ""
            )
            print(
                f"{key:12} mean {statistics.fmean(times):6.1f} ms"
                f"  median {statistics.median(times):6.1f} ms"
                f"  CPU of this process {statistics.fmean(cpu):6.1f} ms{db}"
                f"  ({len(response.content)} bytes, {len(queries)} queries)"
            )
            if key in args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.repeat):
                    client.get(url)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats(args.sort).print_stats(args.top)
                print(out.getvalue())
    finally:
        clean_up()


if __name__ == "__main__":
    main()
