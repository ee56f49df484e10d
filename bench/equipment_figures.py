"""Time the figures and list queries of special equipment and dual prevention.

    EVENTGUARD_HOME=/tmp/eg-bench python bench/equipment_figures.py --scale 10

Loads the registry, equipment and hazards steps of ``ciie-2021`` at the given scale into the
configured database (skipped when already loaded), then times each figure of the two apps
and the first page of their main lists, a few times each, and prints the median and worst.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eventguard.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from eventguard.core.figures import registered
    from eventguard.core.models import Event, User
    from eventguard.core.scenario import scenario_load
    from eventguard.equipment import selectors as eq
    from eventguard.hazards import selectors as hz

    started = time.monotonic()
    ran = scenario_load("ciie-2021", scale=args.scale, only=["registry", "equipment", "hazards"])
    if ran:
        elapsed = time.monotonic() - started
        print(f"loaded {len(ran)} steps at scale {args.scale} in {elapsed:.1f} s")
    event = Event.objects.get(code="ciie-2021")
    root = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser(
        "bench-root", "", None
    )

    def timed(label: str, fn) -> None:
        times = []
        value = None
        for _ in range(args.repeat):
            t = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - t)
        print(
            f"{label:<45} median {statistics.median(times) * 1000:8.1f} ms"
            f"  worst {max(times) * 1000:8.1f} ms  -> {value}"
        )

    for figure in registered():
        if figure.key.startswith(("equipment.", "hazards.")):
            timed(figure.key, lambda f=figure: f.compute(event))
    lists = {
        "equipment list, first page": lambda: len(
            list(eq.equipment_list(user=root, event=event)[:50])
        ),
        "patrols, overdue filter, first page": lambda: len(
            list(
                eq.patrol_list(user=root, event=event, filters=eq.PatrolFilters(overdue=True))[:50]
            )
        ),
        "coverage gaps": lambda: len(eq.coverage_gaps(user=root, event=event)),
        "hidden dangers, open": lambda: len(
            list(hz.hazard_list(user=root, event=event, filters=hz.HazardFilters(open=True))[:50])
        ),
        "risk matrix": lambda: sum(
            c["count"] for r in hz.risk_matrix(user=root, event=event)["rows"] for c in r["cells"]
        ),
        "venue colour map": lambda: len(hz.venue_colour_map(user=root, event=event)),
    }
    for label, fn in lists.items():
        timed(label, fn)


if __name__ == "__main__":
    main()
