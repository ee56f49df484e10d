"""The reference scenario ``ciie-2021``: the registry part.

The 4th China International Import Expo at the National Exhibition and Convention
Center (Shanghai), 5-10 November 2021: its venue, halls and zones, the guarantee
points of REFERENCE-SCENARIO.md and people in every role. Domain apps add their
own steps to this scenario.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _

from .. import services
from ..credit_code import generate_credit_code
from ..models import Event, UnitCategory, Zone
from ..scenario import ScenarioContext, register_scenario, step
from . import names

SCENARIO = "ciie-2021"
EVENT_CODE = "ciie-2021"

register_scenario(
    SCENARIO,
    event_code=EVENT_CODE,
    description=_("4th China International Import Expo, NECC Shanghai, 5-10 Nov 2021"),
)

# Halls of the venue, (code, zh, en, core area); each has zones A and B.
HALLS = [
    ("h1-1", "1.1号馆", "Hall 1.1", False),
    ("h1-2", "1.2号馆", "Hall 1.2", False),
    ("h2-1", "2.1号馆", "Hall 2.1", True),
    ("h2-2", "2.2号馆", "Hall 2.2", False),
    ("h3-1", "3.1号馆", "Hall 3.1", False),
    ("h4-1", "4.1号馆", "Hall 4.1", True),
    ("h4-2", "4.2号馆", "Hall 4.2", False),
    ("h5-1", "5.1号馆", "Hall 5.1", False),
    ("h5-2", "5.2号馆", "Hall 5.2", False),
    ("h6-1", "6.1号馆", "Hall 6.1", False),
    ("h6-2", "6.2号馆", "Hall 6.2", False),
    ("h7-1", "7.1号馆", "Hall 7.1", False),
    ("h7-2", "7.2号馆", "Hall 7.2", False),
    ("h8-1", "8.1号馆", "Hall 8.1", True),
    ("h8-2", "8.2号馆", "Hall 8.2", False),
    ("plaza", "中央广场", "Central Plaza", True),
    ("press", "新闻中心", "Press Centre", True),
]

# Reference counts (REFERENCE-SCENARIO.md sections 2 and 3); the scale multiplies them.
COUNTS = {
    "in_venue_food_business": 66,
    "group_meal_enterprise": 18,
    "raw_material_supplier": 41,
    "reception_hotel": 5,
    "coldchain_warehouse": 1,
    "key_guarantee_unit": 75,
    "exhibitor": 141,
    "maintenance_unit": 6,
}


def venue_zones(event: Event) -> list[Zone]:
    """The zones (second level under the halls) of the scenario's venue, by code: ids (and so
    paths) differ between databases, codes do not, and the load must be the same everywhere."""
    return list(Zone.objects.filter(event=event, kind="zone").order_by("code"))


@step(SCENARIO, "registry.event", order=10, label=_("Event, venue and zones"))
def load_event(ctx: ScenarioContext) -> None:
    ctx.progress.start(str(_("Event, venue and zones")), 1 + len(HALLS) * 3)
    event = Event.objects.filter(code=EVENT_CODE).first() or services.event_create(
        actor=None,
        code=EVENT_CODE,
        name_zh="第四届中国国际进口博览会",
        name_en="4th China International Import Expo",
        time_zone="Asia/Shanghai",
        preparation_start=dt.date(2021, 8, 1),
        opening=dt.date(2021, 11, 5),
        closing=dt.date(2021, 11, 10),
    )
    venue = services.zone_create(
        actor=None,
        event=event,
        kind="venue",
        code="necc",
        name_zh="国家会展中心（上海）",
        name_en="National Exhibition and Convention Center (Shanghai)",
    )
    ctx.progress.advance()
    for code, zh, en, core in HALLS:
        hall = services.zone_create(
            actor=None,
            event=event,
            kind="hall",
            code=code,
            name_zh=zh,
            name_en=en,
            parent=venue,
            is_core_area=core,
        )
        ctx.progress.advance()
        for letter in "ab":
            services.zone_create(
                actor=None,
                event=event,
                kind="zone",
                code=f"{code}-{letter}",
                name_zh=f"{zh}{letter.upper()}区",
                name_en=f"{en} zone {letter.upper()}",
                parent=hall,
                is_core_area=core,
            )
            ctx.progress.advance()
    ctx.progress.finish()


def _unit_specs(ctx: ScenarioContext, zones: list[Zone]):
    """(category code, zh name, en name, zone or None) for every unit, deterministic."""
    rng = ctx.rng
    specs = []
    for i in range(ctx.n(COUNTS["in_venue_food_business"])):
        brand = rng.choice(names.FOOD_BRANDS)
        kind_zh, kind_en = rng.choice(names.FOOD_KINDS)
        zone = zones[i % len(zones)]
        specs.append(
            (
                "in_venue_food_business",
                f"{brand}{kind_zh}（{zone.name_zh}）{i + 1:03d}号点位",
                f"{kind_en} {i + 1:03d}, {zone.name_en}",
                zone,
            )
        )
    for i in range(ctx.n(COUNTS["group_meal_enterprise"])):
        brand = rng.choice(names.FOOD_BRANDS)
        specs.append(
            (
                "group_meal_enterprise",
                f"上海{brand}{rng.choice(names.GROUP_MEAL)}（{i + 1:02d}）",
                f"Shanghai {brand} Catering {i + 1:02d}",
                None,
            )
        )
    for i in range(ctx.n(COUNTS["raw_material_supplier"])):
        goods_zh, goods_en = rng.choice(names.SUPPLIER)
        specs.append(
            (
                "raw_material_supplier",
                f"上海{rng.choice(names.FOOD_BRANDS)}{goods_zh}供应有限公司（{i + 1:02d}）",
                f"Shanghai {goods_en} Supply {i + 1:02d}",
                None,
            )
        )
    for i in range(ctx.n(COUNTS["reception_hotel"])):
        zh, en = names.HOTELS[i % len(names.HOTELS)]
        suffix = f"（{i // len(names.HOTELS) + 1}）" if i >= len(names.HOTELS) else ""
        specs.append(("reception_hotel", zh + suffix, en + suffix, None))
    for i in range(ctx.n(COUNTS["coldchain_warehouse"])):
        specs.append(
            (
                "coldchain_warehouse",
                f"进口冷链食品展品集中监管总仓{'' if i == 0 else i + 1}",
                "Central warehouse for imported cold-chain exhibits"
                + ("" if i == 0 else f" {i + 1}"),
                None,
            )
        )
    for i in range(ctx.n(COUNTS["key_guarantee_unit"])):
        if i == 0:
            specs.append(
                (
                    "key_guarantee_unit",
                    "国家会展中心（上海）有限责任公司",
                    "National Exhibition and Convention Center (Shanghai) Co., Ltd.",
                    zones[0],
                )
            )
            continue
        kind_zh, kind_en = rng.choice(names.KEY_UNIT_KINDS)
        specs.append(
            (
                "key_guarantee_unit",
                f"虹桥{kind_zh}保障单位{i + 1:03d}",
                f"Hongqiao {kind_en} {i + 1:03d}",
                None,
            )
        )
    for i in range(ctx.n(COUNTS["maintenance_unit"])):
        specs.append(
            (
                "maintenance_unit",
                f"上海{rng.choice(names.FOOD_BRANDS)}电梯维保有限公司（{i + 1:02d}）",
                f"Shanghai Lift Maintenance {i + 1:02d}",
                None,
            )
        )
    for i in range(ctx.n(COUNTS["exhibitor"])):
        country_zh, country_en = rng.choice(names.COUNTRIES)
        goods_zh, goods_en = rng.choice(names.EXPORT_GOODS)
        zone = zones[rng.randrange(len(zones))]
        specs.append(
            (
                "exhibitor",
                f"{country_zh}{goods_zh}出口商{i + 1:03d}",
                f"{country_en} {goods_en} Exporter {i + 1:03d}",
                zone,
            )
        )
    return specs


@step(SCENARIO, "registry.units", order=20, label=_("Guarantee points and exhibitors"))
def load_units(ctx: ScenarioContext) -> None:
    event = ctx.event
    zones = venue_zones(event)
    categories = {c.code: c for c in UnitCategory.objects.all()}
    specs = _unit_specs(ctx, zones)
    used_codes: set[str] = set()
    ctx.progress.start(str(_("Guarantee points and exhibitors")), len(specs))
    for category, name_zh, name_en, zone in specs:
        code = generate_credit_code(ctx.rng)
        while code in used_codes:
            code = generate_credit_code(ctx.rng)
        used_codes.add(code)
        services.unit_create(
            actor=None,
            event=event,
            category=categories[category],
            name_zh=name_zh,
            name_en=name_en,
            credit_code=code,
            address=("上海市青浦区崧泽大道333号" if zone else names.address(ctx.rng)),
            zone=zone,
            contact_name=names.person_name(ctx.rng),
            contact_phone=names.phone(ctx.rng),
        )
        ctx.progress.advance()
    ctx.progress.finish()


# People in every role: (role, username prefix, reference count, domains).
STAFF = [
    ("admin", "admin", 1, []),
    ("commander", "commander", 2, []),
    ("auditor", "auditor", 1, []),
    ("supervisor", "sup-food", 4, ["food"]),
    ("supervisor", "sup-coldchain", 2, ["coldchain"]),
    ("supervisor", "sup-equipment", 3, ["equipment", "hazards"]),
    ("supervisor", "sup-permits", 1, ["permits"]),
    ("inspector", "insp-food", 12, ["food"]),
    ("inspector", "insp-coldchain", 6, ["coldchain"]),
    ("inspector", "insp-equipment", 10, ["equipment", "hazards"]),
    ("post_staff", "post", 20, []),
]


@step(SCENARIO, "registry.people", order=30, label=_("People and roles"))
def load_people(ctx: ScenarioContext) -> None:
    from ..models import Unit

    event = ctx.event
    halls = list(Zone.objects.filter(event=event, kind="hall").order_by("code"))
    own_unit_categories = {
        "in_venue_food_business": "unit_operator",
        "group_meal_enterprise": "unit_operator",
        "raw_material_supplier": "unit_operator",
        "reception_hotel": "unit_operator",
        "coldchain_warehouse": "unit_operator",
        "key_guarantee_unit": "unit_operator",
        "exhibitor": "exhibitor",
    }
    units = list(
        Unit.objects.filter(event=event, category__code__in=own_unit_categories)
        .select_related("category")
        .order_by("pk")
    )
    staff = [(role, prefix, ctx.n(count), domains) for role, prefix, count, domains in STAFF]
    total = sum(n for _r, _p, n, _d in staff) + len(units)
    ctx.progress.start(str(_("People and roles")), total)
    for role, prefix, count, domains in staff:
        for i in range(count):
            user = services.person_create(
                actor=None,
                username=f"{EVENT_CODE}-{prefix}-{i + 1:02d}",
                display_name=names.person_name(ctx.rng),
                phone=names.phone(ctx.rng),
                organisation="市场监督管理局",
            )
            # Field staff in the equipment domain hold a pair of halls each.
            zones = []
            if role == "inspector" and "equipment" in domains and halls:
                zones = [halls[(2 * i) % len(halls)], halls[(2 * i + 1) % len(halls)]]
            elif role == "post_staff" and halls:
                zones = [halls[i % len(halls)]]
            services.role_assign(
                actor=None, user=user, event=event, role=role, zones=zones, domains=domains
            )
            ctx.progress.advance()
    for unit in units:
        role = own_unit_categories[unit.category.code]
        user = services.person_create(
            actor=None,
            username=f"{EVENT_CODE}-u{unit.pk}",
            display_name=unit.contact_name,
            phone=unit.contact_phone,
            organisation=unit.name_zh,
        )
        services.role_assign(actor=None, user=user, event=event, role=role, unit=unit)
        ctx.progress.advance()
    ctx.progress.finish()
