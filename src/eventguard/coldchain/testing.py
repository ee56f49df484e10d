"""Factories for tests of the cold-chain loop: records made through the services."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from eventguard.core import services as core_services
from eventguard.core.testing import make_member, make_unit

from . import services
from .models import Box, BoxState, Consignment, Surface
from .services import BoxRow, ResultRow

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
_numbers = itertools.count(1)

# A GTIN-13 with its check digit (the GS1 example number).
GTIN = "09521234543213"


def at(day: int, hour: int = 9, minute: int = 0, month: int = 10) -> dt.datetime:
    """A time in Shanghai in October 2021 (or ``month``)."""
    return dt.datetime(2021, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Site:
    """An event's cold-chain set-up: the units and the people of the loop."""

    event: object
    warehouse: object
    laboratory: object
    carrier: object
    exhibitor: object
    other_exhibitor: object
    staff: object
    exhibitor_user: object
    other_exhibitor_user: object


def make_site(event, *, language: str = "en") -> Site:
    """The units and people of the loop; the people read in ``language``."""
    exhibitor = make_unit(event, category="exhibitor")
    other = make_unit(event, category="exhibitor")
    site = Site(
        event=event,
        warehouse=make_unit(event, category="coldchain_warehouse"),
        laboratory=make_unit(event, category="laboratory"),
        carrier=make_unit(event, category="coldchain_carrier"),
        exhibitor=exhibitor,
        other_exhibitor=other,
        staff=make_member(event, "inspector", domains=["coldchain"]),
        exhibitor_user=make_member(event, "exhibitor", unit=exhibitor),
        other_exhibitor_user=make_member(event, "exhibitor", unit=other),
    )
    for user in (site.staff, site.exhibitor_user, site.other_exhibitor_user):
        core_services.person_update(actor=None, user=user, language=language)
    return site


def make_consignment(event, exhibitor, *, actor=None, **fields) -> Consignment:
    n = next(_numbers)
    defaults = {
        "reference": f"CN-{n:05d}",
        "port_of_entry": "上海洋山港",
        "customs_declaration_no": f"2233202110{n:08d}",
        "origin_country": "France",
        "products": "Frozen beef, cheese",
    }
    defaults.update(fields)
    return services.consignment_create(actor=actor, event=event, exhibitor=exhibitor, **defaults)


def box_rows(count: int, *, prefix: str | None = None, start: int = 1, **fields) -> list[BoxRow]:
    prefix = prefix or f"CC{next(_numbers):03d}"
    rows = []
    for i in range(count):
        values = {
            "code": f"{prefix}-{start + i:05d}",
            "gtin": GTIN,
            "product": "Frozen beef",
            "temperature_class": "frozen",
            "weight_kg": Decimal("12.5"),
            "smallest_package": "500 g vacuum pack",
        }
        values.update(fields)
        rows.append(BoxRow(row=i + 2, **values))
    return rows


def declare_boxes(consignment, count: int = 2, *, actor=None, **fields) -> list[Box]:
    return services.box_declare_bulk(
        actor=actor, consignment=consignment, rows=box_rows(count, **fields), at=at(15)
    )


def advance(site: Site, boxes: list[Box], state: str, *, actor=None) -> list[Box]:
    """Take declared boxes along the loop, through the services, up to ``state``."""
    path = [
        BoxState.PORT_RELEASED,
        BoxState.IN_WAREHOUSE,
        BoxState.DISINFECTED,
        BoxState.SAMPLED,
        BoxState.CLEARED,
        BoxState.RELEASED,
        BoxState.IN_TRANSIT,
        BoxState.ENTERED_VENUE,
    ]
    if state in (BoxState.QUARANTINED, BoxState.DISPOSED):
        targets = path[: path.index(BoxState.SAMPLED) + 1]
    else:
        targets = path[: path.index(state) + 1] if state != BoxState.DECLARED else []
    n = next(_numbers)
    for target in targets:
        boxes = services.load_boxes([b.pk for b in boxes])
        if target == BoxState.PORT_RELEASED:
            by_consignment = {}
            for box in boxes:
                by_consignment.setdefault(box.consignment_id, []).append(box)
            for group in by_consignment.values():
                services.consignment_port_release(
                    actor=actor,
                    consignment=group[0].consignment,
                    iq_certificate_no=f"IQ{n:06d}",
                    at=at(20),
                    boxes=group,
                )
        elif target == BoxState.IN_WAREHOUSE:
            services.batch_receive(
                actor=actor,
                event=site.event,
                warehouse=site.warehouse,
                number=f"B{n:05d}",
                received_at=at(21),
                boxes=boxes,
            )
        elif target == BoxState.DISINFECTED:
            services.disinfection_record_bulk(
                actor=actor,
                boxes=boxes,
                agent="Peracetic acid 0.2 %",
                operator="Wang Li",
                performed_at=at(21, 11),
            )
        elif target == BoxState.SAMPLED:
            services.sample_take_bulk(
                actor=actor, boxes=boxes, laboratory=site.laboratory, sampled_at=at(21, 14)
            )
        elif target == BoxState.CLEARED:
            record_results(site, boxes, actor=actor)
        elif target == BoxState.RELEASED:
            services.box_release_bulk(
                actor=actor, boxes=boxes, certificate_no=f"EX{n:06d}", released_at=at(25)
            )
        elif target == BoxState.IN_TRANSIT:
            services.transport_depart(
                actor=actor,
                event=site.event,
                number=f"T{n:05d}",
                vehicle_plate="沪A12345",
                departed_at=at(26, 8),
                boxes=boxes,
                carrier=site.carrier,
            )
        elif target == BoxState.ENTERED_VENUE:
            for box in boxes:
                services.gate_enter(actor=actor, event=site.event, scanned=box.code, at=at(26, 10))
    if state in (BoxState.QUARANTINED, BoxState.DISPOSED):
        record_results(site, boxes, actor=actor, positive={Surface.SMALLEST_PACKAGE})
        if state == BoxState.DISPOSED:
            for box in services.load_boxes([b.pk for b in boxes]):
                services.box_dispose(
                    actor=actor, box=box, outcome="destroyed", reason="NAT positive", at=at(23)
                )
    return services.load_boxes([b.pk for b in boxes])


def record_results(site: Site, boxes, *, actor=None, positive=frozenset(), when=None):
    from .models import NatSample

    samples = NatSample.objects.filter(box__in=[b.pk for b in boxes], result="").order_by("pk")
    rows = [
        ResultRow(
            row=i + 2,
            sample_code=s.sample_code,
            result="positive" if s.surface in positive else "negative",
            reported_at=when or at(22),
            report_no=f"R-{s.sample_code}",
        )
        for i, s in enumerate(samples)
    ]
    return services.nat_results_record_bulk(actor=actor, event=site.event, rows=rows)
