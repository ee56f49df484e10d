"""The reference scenario ``ciie-2021``: the cold-chain closed loop (REFERENCE-SCENARIO.md
section 1).

The exhibitors of the registry step ship 3,655 boxes of imported cold-chain food in their
consignments; batches enter the central warehouse from 21 October 2021, are disinfected and
NAT-sampled (outer carton and smallest package), every result is negative, and every box is
released, transported and enters the venue before the entry deadline of 2 November 2021.
Temperatures are logged on arrival, in the warehouse's compartments and in the vehicles.
Everything goes through the bulk services; ``--scale`` multiplies exhibitors and boxes.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from eventguard.core import services as core_services
from eventguard.core.credit_code import generate_credit_code
from eventguard.core.models import Unit, UnitCategory
from eventguard.core.scenario import ScenarioContext, step
from eventguard.core.scenarios import names
from eventguard.core.scenarios.ciie2021 import SCENARIO

from . import services
from .epcis import documents
from .identifiers import gtin_check_digit
from .models import Box, Consignment, ReadingSubject, TemperatureClass
from .services import BoxRow, ReadingIn, ResultRow

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
BOXES = 3655
FIRST_WAREHOUSE_DAY = dt.date(2021, 10, 21)
LAST_WAREHOUSE_DAY = dt.date(2021, 10, 30)
ENTRY_DEADLINE = dt.datetime(2021, 11, 2, 0, 0, tzinfo=TZ)
TRUCK_CAPACITY = 160

CHILLED_GOODS = {"Dairy", "Cheese"}
PORTS = ["上海洋山港", "上海外高桥港", "浦东国际机场"]
AGENTS = ["过氧乙酸 0.2%", "含氯消毒剂 500 mg/L", "二氧化氯 250 mg/L"]
PACKAGES = {
    "Beef": "1 kg 真空包装",
    "Lamb": "1 kg 真空包装",
    "Salmon": "500 g 真空包装",
    "Dairy": "1 L 利乐包",
    "Seafood": "500 g 冷冻袋",
    "Pork": "1 kg 真空包装",
    "Ice Cream": "500 mL 纸盒",
    "Prawns": "1 kg 冷冻盒",
    "Cheese": "200 g 蜡封块",
    "Poultry": "1 kg 托盘包装",
}


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def _departure(day: dt.date, half: int, truck: int) -> dt.datetime:
    """The trucks of a half-day leave ten minutes apart (past the hour at a large scale)."""
    return _local(day, 7 + half * 5) + dt.timedelta(minutes=10 * truck)


def _exhibitors(event) -> list[Unit]:
    return list(Unit.objects.filter(event=event, category__code="exhibitor").order_by("pk"))


def _kind_of(unit: Unit) -> tuple[str, str]:
    """(country, goods) of a registry exhibitor, read from its English name."""
    country = next((en for _zh, en in names.COUNTRIES if unit.name_en.startswith(en)), "France")
    goods = next((en for _zh, en in names.EXPORT_GOODS if f" {en} " in unit.name_en), "Beef")
    return country, goods


def _gtin(rng) -> str:
    body = "0" + "".join(str(rng.randrange(10)) for _ in range(12))
    return body + gtin_check_digit(body)


def _unit(ctx: ScenarioContext, event, category: str, name_zh: str, name_en: str) -> Unit:
    found = Unit.objects.filter(event=event, category__code=category).order_by("pk").first()
    if found is not None:
        return found
    return core_services.unit_create(
        actor=None,
        event=event,
        category=UnitCategory.objects.get(code=category),
        name_zh=name_zh,
        name_en=name_en,
        credit_code=generate_credit_code(ctx.rng),
        address=names.address(ctx.rng),
        contact_name=names.person_name(ctx.rng),
        contact_phone=names.phone(ctx.rng),
    )


@step(SCENARIO, "coldchain.consignments", order=60, label=_("Cold-chain consignments and boxes"))
def load_consignments(ctx: ScenarioContext) -> None:
    """The entry deadline, the laboratory and the carrier, and every exhibitor's
    consignments with their boxes declared from a manifest."""
    event = ctx.event
    rng = ctx.rng
    services.coldchain_settings_update(
        actor=None, event=event, entry_deadline=ENTRY_DEADLINE, at_risk_hours=48
    )
    _unit(
        ctx,
        event,
        "laboratory",
        "上海海关动植物与食品检验检疫技术中心",
        "Shanghai Customs Technical Centre for Animal, Plant and Food Inspection",
    )
    _unit(
        ctx,
        event,
        "coldchain_carrier",
        "上海冷链物流运输有限公司",
        "Shanghai Cold-Chain Logistics Co., Ltd.",
    )
    exhibitors = _exhibitors(event)
    total = ctx.n(BOXES)
    # Every exhibitor ships at least one box; the rest follow random shares.
    weights = [rng.uniform(0.2, 1.8) for _ in exhibitors]
    counts = [1] * len(exhibitors)
    rest = total - len(exhibitors)
    shares = [rest * w / sum(weights) for w in weights]
    for i, share in enumerate(shares):
        counts[i] += int(share)
    for i in sorted(range(len(exhibitors)), key=lambda i: shares[i] - int(shares[i]), reverse=True)[
        : total - sum(counts)
    ]:
        counts[i] += 1
    ctx.progress.start(str(_("Cold-chain consignments and boxes")), total)
    number = 0
    for index, (exhibitor, count) in enumerate(zip(exhibitors, counts, strict=True)):
        country, goods = _kind_of(exhibitor)
        parts = [count] if count <= 40 else [count // 2, count - count // 2]
        for part_no, part in enumerate(parts):
            consignment = services.consignment_create(
                actor=None,
                event=event,
                exhibitor=exhibitor,
                reference=f"CIIE4-CC-{index + 1:03d}-{part_no + 1}",
                port_of_entry=rng.choice(PORTS),
                customs_declaration_no=f"2233{2021:04d}{rng.randrange(10**10):010d}",
                origin_country=country,
                products=goods,
            )
            gtin = _gtin(rng)
            frozen = goods not in CHILLED_GOODS
            rows = []
            for _i in range(part):
                number += 1
                rows.append(
                    BoxRow(
                        row=len(rows) + 2,
                        code=f"CC-{number:06d}",
                        gtin=gtin,
                        product=f"{goods} ({country})",
                        temperature_class=TemperatureClass.FROZEN
                        if frozen
                        else TemperatureClass.CHILLED,
                        weight_kg=Decimal(rng.randrange(50, 250)) / 10,
                        smallest_package=PACKAGES.get(goods, "1 kg"),
                    )
                )
            services.box_declare_bulk(
                actor=None,
                consignment=consignment,
                rows=rows,
                at=_local(dt.date(2021, 10, 10 + index % 8), 10),
            )
            ctx.progress.advance(part)
    ctx.progress.finish()


def _arrival_days(consignments: list[Consignment]) -> dict[int, dt.date]:
    """The day each consignment reaches the warehouse, from 21 to 30 October."""
    days = (LAST_WAREHOUSE_DAY - FIRST_WAREHOUSE_DAY).days + 1
    return {
        c.pk: FIRST_WAREHOUSE_DAY + dt.timedelta(days=i * days // len(consignments))
        for i, c in enumerate(consignments)
    }


@step(SCENARIO, "coldchain.loop", order=62, label=_("Cold-chain closed loop"))
def load_loop(ctx: ScenarioContext) -> None:
    """Port release, warehouse batches, disinfection, NAT sampling and results, release,
    transport and venue entry, batch by batch."""
    event = ctx.event
    rng = ctx.rng
    warehouse = (
        Unit.objects.filter(event=event, category__code="coldchain_warehouse")
        .order_by("pk")
        .first()
    )
    laboratory = (
        Unit.objects.filter(event=event, category__code="laboratory").order_by("pk").first()
    )
    carrier = (
        Unit.objects.filter(event=event, category__code="coldchain_carrier").order_by("pk").first()
    )
    consignments = list(Consignment.objects.filter(event=event).order_by("pk"))
    arrival = _arrival_days(consignments)
    boxes_by_day: dict[dt.date, list[int]] = defaultdict(list)
    total = Box.objects.filter(event=event).count()
    ctx.progress.start(str(_("Cold-chain closed loop")), total)
    for consignment in consignments:
        day = arrival[consignment.pk]
        services.consignment_port_release(
            actor=None,
            consignment=consignment,
            iq_certificate_no=f"3100{day:%m%d}{rng.randrange(10**8):08d}",
            at=_local(day - dt.timedelta(days=rng.randint(1, 3)), rng.randint(9, 16)),
        )
        boxes_by_day[day].extend(consignment.boxes.order_by("pk").values_list("pk", flat=True))
    trip_no = 0
    for day in sorted(boxes_by_day):
        ids = boxes_by_day[day]
        # Morning and afternoon batches.
        halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]] if len(ids) > 1 else [ids]
        for half, batch_ids in enumerate(halves):
            if not batch_ids:
                continue
            received = _local(day, 9 + 5 * half, rng.randint(0, 30))
            boxes = services.load_boxes(batch_ids)
            readings = {
                b.pk: (
                    Decimal(rng.randint(-215, -185)) / 10
                    if b.temperature_class == "frozen"
                    else Decimal(rng.randint(10, 38)) / 10
                )
                for b in boxes
            }
            services.batch_receive(
                actor=None,
                event=event,
                warehouse=warehouse,
                number=f"ZC{day:%Y%m%d}-{half + 1}",
                received_at=received,
                boxes=boxes,
                readings=readings,
            )
            services.disinfection_record_bulk(
                actor=None,
                boxes=boxes,
                agent=rng.choice(AGENTS),
                operator=names.person_name(rng),
                performed_at=received + dt.timedelta(hours=1),
            )
            services.sample_take_bulk(
                actor=None,
                boxes=boxes,
                laboratory=laboratory,
                sampled_at=received + dt.timedelta(hours=2),
            )
            reported = _local(day + dt.timedelta(days=1), 10 + half * 2)
            samples = services.NatSample.objects.filter(box__in=batch_ids).order_by("pk")
            services.nat_results_record_bulk(
                actor=None,
                event=event,
                rows=[
                    ResultRow(
                        row=i + 2,
                        sample_code=s.sample_code,
                        result="negative",
                        reported_at=reported,
                        report_no=f"SHHG{day:%m%d}-{half + 1}-{i:04d}",
                    )
                    for i, s in enumerate(samples)
                ],
            )
            services.box_release_bulk(
                actor=None,
                boxes=boxes,
                certificate_no=f"CK{day:%m%d}{half + 1}{rng.randrange(10**5):05d}",
                released_at=reported + dt.timedelta(hours=3),
            )
            departure_day = day + dt.timedelta(days=2)
            for start in range(0, len(boxes), TRUCK_CAPACITY):
                trip_no += 1
                load = boxes[start : start + TRUCK_CAPACITY]
                departed = _departure(departure_day, half, start // TRUCK_CAPACITY)
                plate = f"沪B{rng.randrange(10000, 99999)}"
                trip = services.transport_depart(
                    actor=None,
                    event=event,
                    number=f"YS{trip_no:04d}",
                    vehicle_plate=plate,
                    departed_at=departed,
                    boxes=load,
                    carrier=carrier,
                )
                arrived = departed + dt.timedelta(minutes=rng.randint(70, 100))
                services.transport_arrive(actor=None, transport=trip, arrived_at=arrived)
                services.gate_enter_bulk(
                    actor=None, event=event, boxes=load, at=arrived + dt.timedelta(minutes=15)
                )
                services.temperature_record_bulk(
                    actor=None,
                    event=event,
                    readings=[
                        ReadingIn(
                            subject=ReadingSubject.VEHICLE,
                            vehicle_plate=plate,
                            compartment=compartment,
                            measured_at=departed + dt.timedelta(minutes=15 * k),
                            celsius=Decimal(rng.randint(-205, -185)) / 10
                            if compartment == "frozen"
                            else Decimal(rng.randint(15, 35)) / 10,
                            device_id=documents.urn("logger", f"{plate}-{compartment}"),
                        )
                        for compartment in ("frozen", "chilled")
                        for k in range(1 + (arrived - departed).seconds // 900)
                    ],
                )
            ctx.progress.advance(len(boxes))
    ctx.progress.finish()


@step(
    SCENARIO,
    "coldchain.warehouse_temperatures",
    order=64,
    label=_("Cold-chain warehouse temperatures"),
)
def load_warehouse_temperatures(ctx: ScenarioContext) -> None:
    """The warehouse's frozen and chilled rooms, every two hours, 21 October - 1 November."""
    event = ctx.event
    rng = ctx.rng
    warehouse = (
        Unit.objects.filter(event=event, category__code="coldchain_warehouse")
        .order_by("pk")
        .first()
    )
    readings = []
    moment = _local(FIRST_WAREHOUSE_DAY, 0)
    end = _local(dt.date(2021, 11, 2), 0)
    while moment < end:
        for compartment, low, high in (("frozen", -225, -190), ("chilled", 10, 38)):
            readings.append(
                ReadingIn(
                    subject=ReadingSubject.WAREHOUSE,
                    warehouse=warehouse,
                    compartment=compartment,
                    measured_at=moment,
                    celsius=Decimal(rng.randint(low, high)) / 10,
                    device_id=f"urn:eventguard:logger:warehouse-{compartment}",
                )
            )
        moment += dt.timedelta(hours=2)
    ctx.progress.start(str(_("Cold-chain warehouse temperatures")), 1)
    services.temperature_record_bulk(actor=None, event=event, readings=readings)
    ctx.progress.finish()
