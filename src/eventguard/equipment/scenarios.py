"""The reference scenario ``ciie-2021``: special equipment (REFERENCE-SCENARIO.md section 3).

208 escalators and 216 lifts in the venue with a named person at every post in every open
hour, two patrols a day of each over the event days, guarantee testing of the 75 key
guarantee units, and the city-wide campaign (7,147 unit inspections covering 12,399
equipment sets since 1 August 2021). Everything is built through the services.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from eventguard.core import services as core_services
from eventguard.core.models import Unit, User, Zone
from eventguard.core.scenario import ScenarioContext, step
from eventguard.core.scenarios import names
from eventguard.core.scenarios.ciie2021 import EVENT_CODE, SCENARIO, venue_zones

from . import services
from .models import (
    POSTED_KINDS,
    Answer,
    EquipmentKind,
    GuaranteePhase,
    GuaranteeResult,
    PostShift,
)

COUNTS = {
    "escalator": 208,
    "lift": 216,
    "city_equipment_per_key_unit": 2,
    "campaign_units": 7147,
    "campaign_sets": 12399,
}

CAMPAIGN_SINCE = dt.date(2021, 8, 1)

CITY_KINDS = [
    EquipmentKind.BOILER,
    EquipmentKind.PRESSURE_VESSEL,
    EquipmentKind.CRANE,
    EquipmentKind.PRESSURE_PIPING,
]

LIFT_ITEMS = [
    ("doors", "层门、轿门开关正常，无夹人风险", "Landing and car doors open and close properly"),
    ("levelling", "平层准确，无明显台阶", "Car levels accurately with the floor"),
    ("alarm", "轿内紧急报警装置可接通值班室", "In-car emergency alarm reaches the duty room"),
    ("lighting", "轿厢照明和通风正常", "Car lighting and ventilation work"),
    ("notice", "使用标志、安全须知张贴在有效期内", "Certificate and safety notice displayed"),
    ("noise", "运行平稳，无异常振动和噪声", "Runs smoothly without unusual vibration or noise"),
]
ESCALATOR_ITEMS_V1 = [
    ("steps", "梯级、踏板完好，无缺损", "Steps and pallets intact"),
    ("comb", "梳齿板完好，无断齿", "Comb plates intact, no broken teeth"),
    ("handrail", "扶手带与梯级同步，无破损", "Handrails run in step and are undamaged"),
    ("stop", "紧急停止按钮有效、标识清晰", "Emergency stop works and is clearly marked"),
    ("skirt", "围裙板防夹装置完好", "Skirt deflectors intact"),
]
ESCALATOR_ITEMS_V2 = ESCALATOR_ITEMS_V1 + [
    ("crowd", "出入口无拥堵，疏导人员到位", "Landings clear of crowding, stewards in place"),
]

FAULT_NOTES = [
    ("doors", "层门关闭时有卡阻，关门力偏大", "lift"),
    ("alarm", "轿内报警按钮接通值班室延迟超过30秒", "lift"),
    ("levelling", "2层平层误差约15毫米", "lift"),
    ("comb", "下部梳齿板断齿2个", "escalator"),
    ("handrail", "右侧扶手带与梯级速度不同步", "escalator"),
    ("skirt", "围裙板防夹毛刷局部脱落", "escalator"),
    ("crowd", "出口处人员拥堵，无疏导人员", "escalator"),
    ("stop", "上部紧急停止按钮标识褪色", "escalator"),
]

TEST_FINDINGS = [
    "制动器闸瓦磨损接近限值，已要求维保单位更换",
    "应急照明电池容量不足",
    "机房温度偏高，通风设施需加强",
    "安全回路接线标识不清",
    "安全阀校验报告即将到期",
]


def _event_and_units(ctx: ScenarioContext):
    event = ctx.event
    key_units = list(
        Unit.objects.filter(event=event, category__code="key_guarantee_unit").order_by("pk")
    )
    maintenance = list(
        Unit.objects.filter(event=event, category__code="maintenance_unit").order_by("pk")
    )
    return event, key_units, maintenance


@step(SCENARIO, "equipment.registry", order=40, label=_("Lifts, escalators and equipment"))
def load_equipment(ctx: ScenarioContext) -> None:
    event, key_units, maintenance = _event_and_units(ctx)
    rng = ctx.rng
    services.equipment_settings_set(
        actor=None,
        event=event,
        open_from=dt.time(9, 0),
        open_until=dt.time(18, 0),
        patrol_windows=[["09:00", "12:00"], ["14:00", "17:30"]],
    )
    zones = venue_zones(event)
    venue_owner = key_units[0]  # the exhibition centre runs the venue's lifts and escalators
    kinds = [EquipmentKind.ESCALATOR] * ctx.n(COUNTS["escalator"]) + [EquipmentKind.LIFT] * ctx.n(
        COUNTS["lift"]
    )
    items = []
    ctx.progress.start(str(_("Lifts, escalators and equipment")), len(kinds) + len(key_units))
    per_zone = defaultdict(int)
    for i, kind in enumerate(kinds):
        zone = zones[i % len(zones)]
        per_zone[(zone.pk, kind)] += 1
        n = per_zone[(zone.pk, kind)]
        escalator = kind == EquipmentKind.ESCALATOR
        last = dt.date(2021, rng.randint(3, 9), rng.randint(1, 28))
        floor = rng.choice(["1F", "2F"]) if escalator else rng.choice(["B1", "1F", "2F"])
        items.append(
            {
                "code": f"{'3310' if escalator else '3110'}3101{2012 + rng.randrange(9)}"
                f"{i + 1:05d}",
                "registration_no": f"梯{'33' if escalator else '11'}沪A{10000 + i * 7 + 3:05d}"
                f"({rng.randint(14, 20)})",
                "kind": kind,
                "model_name": rng.choice(
                    ["迅达 9300AE", "奥的斯 XO 508", "通力 TravelMaster 110", "三菱 J-2000"]
                    if escalator
                    else ["迅达 5500", "奥的斯 GeN2", "通力 MonoSpace 700", "日立 HGE-II"]
                ),
                "zone": zone,
                "floor": floor,
                "position": f"{zone.name_zh}{'扶梯' if escalator else '客梯'}{n}号",
                "plan_x": Decimal(f"{rng.uniform(5, 95):.2f}"),
                "plan_y": Decimal(f"{rng.uniform(5, 95):.2f}"),
                "user_unit": venue_owner,
                "maintenance_unit": maintenance[i % len(maintenance)] if maintenance else None,
                "last_inspection_on": last,
                "next_inspection_due": last + dt.timedelta(days=365),
                "traffic_level": "high"
                if zone.is_core_area
                else rng.choice(["high", "medium", "medium", "low"]),
            }
        )
        ctx.progress.advance()
    serial = len(items)
    for unit in key_units[1:]:
        for _n in range(COUNTS["city_equipment_per_key_unit"]):
            serial += 1
            kind = CITY_KINDS[serial % len(CITY_KINDS)]
            last = dt.date(2021, rng.randint(1, 9), rng.randint(1, 28))
            items.append(
                {
                    "code": f"{kind[:2].upper()}3101{2010 + rng.randrange(11)}{serial:05d}",
                    "registration_no": f"沪{kind[:1].upper()}{serial:05d}",
                    "kind": kind,
                    "position": unit.address,
                    "user_unit": unit,
                    "last_inspection_on": last,
                    "next_inspection_due": last + dt.timedelta(days=365),
                    "traffic_level": "low",
                }
            )
        ctx.progress.advance()
    services.equipment_bulk_create(actor=None, event=event, items=items)
    ctx.progress.finish()


ROUNDS = [
    (
        "pre-event",
        "展前保障性检验",
        "Pre-event guarantee testing",
        GuaranteePhase.BEFORE,
        dt.date(2021, 10, 11),
        dt.date(2021, 11, 3),
    ),
    (
        "during-1",
        "展中第一轮保障性检验",
        "Guarantee testing, first round during the expo",
        GuaranteePhase.DURING,
        dt.date(2021, 11, 5),
        dt.date(2021, 11, 7),
    ),
    (
        "during-2",
        "展中第二轮保障性检验",
        "Guarantee testing, second round during the expo",
        GuaranteePhase.DURING,
        dt.date(2021, 11, 8),
        dt.date(2021, 11, 10),
    ),
]


def _inspectors(event) -> list[User]:
    return list(
        User.objects.filter(
            username__startswith=f"{EVENT_CODE}-insp-equipment-", assignments__event=event
        ).order_by("username")
    )


@step(SCENARIO, "equipment.guarantee", order=42, label=_("Guarantee testing of key units"))
def load_guarantee_testing(ctx: ScenarioContext) -> None:
    event, key_units, _maintenance = _event_and_units(ctx)
    rng = ctx.rng
    testers = _inspectors(event) or [None]
    equipment_by_unit = defaultdict(list)
    for item in event.equipment.filter(user_unit__in=key_units).order_by("pk"):
        equipment_by_unit[item.user_unit_id].append(item)
    ctx.progress.start(str(_("Guarantee testing of key units")), len(ROUNDS))
    for code, zh, en, phase, starts, ends in ROUNDS:
        round_ = services.guarantee_round_create(
            actor=None,
            event=event,
            code=code,
            name_zh=zh,
            name_en=en,
            phase=phase,
            starts_on=starts,
            ends_on=ends,
        )
        span = (ends - starts).days
        tests = []
        for index, unit in enumerate(key_units):
            tester = testers[index % len(testers)]
            for item in [None, *equipment_by_unit.get(unit.pk, [])]:
                roll = rng.random()
                result = (
                    GuaranteeResult.FAILED
                    if roll < 0.01
                    else GuaranteeResult.FINDINGS
                    if roll < 0.06
                    else GuaranteeResult.PASSED
                )
                tests.append(
                    {
                        "round": round_,
                        "unit": unit,
                        "equipment": item,
                        "tested_on": starts + dt.timedelta(days=rng.randint(0, span)),
                        "result": result,
                        "findings": ""
                        if result == GuaranteeResult.PASSED
                        else rng.choice(TEST_FINDINGS),
                        "tester": tester,
                        "tester_name": str(tester) if tester else "市场监管局特种设备检验组",
                    }
                )
        services.guarantee_tests_bulk_record(actor=None, tests=tests)
        ctx.progress.advance()
    ctx.progress.finish()


def _posted_equipment(event):
    return list(
        event.equipment.filter(kind__in=POSTED_KINDS, zone__isnull=False)
        .select_related("zone__parent", "user_unit")
        .order_by("pk")
    )


@step(SCENARIO, "equipment.posts", order=44, label=_("Fixed posts"))
def load_posts(ctx: ScenarioContext) -> None:
    """One named person at the post of every lift and escalator, for every open hour."""
    event = ctx.event
    rng = ctx.rng
    posted = _posted_equipment(event)
    halls = {z.pk: z for z in Zone.objects.filter(event=event, kind="hall")}
    existing = defaultdict(list)
    staff = User.objects.filter(
        username__startswith=f"{EVENT_CODE}-post-",
        assignments__event=event,
        assignments__role="post_staff",
    ).prefetch_related("assignments__zones")
    taken_numbers = set()
    for person in staff.order_by("username"):
        taken_numbers.add(person.username.rsplit("-", 1)[-1])
        for assignment in person.assignments.all():
            for zone in assignment.zones.all():
                if zone.pk in halls:
                    existing[zone.pk].append(person)
    ctx.progress.start(str(_("Fixed posts")), len(posted) + 2)
    next_number = len(taken_numbers) + 1
    staffing = []
    used = set()
    for item in posted:
        hall = item.zone.parent if item.zone.kind == "zone" else item.zone
        pool = [p for p in existing.get(hall.pk, []) if p.pk not in used]
        if pool:
            person = pool[0]
        else:
            while f"{next_number:02d}" in taken_numbers:
                next_number += 1
            person = core_services.person_create(
                actor=None,
                username=f"{EVENT_CODE}-post-{next_number:02d}",
                display_name=names.person_name(rng),
                phone=names.phone(rng),
                organisation=item.user_unit.name_zh,
                event=event,
            )
            taken_numbers.add(f"{next_number:02d}")
            core_services.role_assign(
                actor=None, user=person, event=event, role="post_staff", zones=[hall]
            )
        used.add(person.pk)
        staffing.append((item, person))
        ctx.progress.advance()
    shifts = services.post_shifts_plan(actor=None, event=event, staffing=staffing)
    ctx.progress.advance()
    attendance = []
    for shift in shifts:
        signed_on = shift.starts_at - dt.timedelta(minutes=rng.randint(5, 25))
        signed_off = shift.ends_at + dt.timedelta(minutes=rng.randint(0, 15))
        attendance.append((shift, signed_on, signed_off))
    services.post_shifts_bulk_attendance(actor=None, attendance=attendance)
    ctx.progress.finish()


@step(SCENARIO, "equipment.patrols", order=46, label=_("Twice-daily patrols"))
def load_patrols(ctx: ScenarioContext) -> None:
    event = ctx.event
    rng = ctx.rng
    checklists = {
        EquipmentKind.LIFT: services.checklist_publish(
            actor=None,
            event=event,
            code="lift-daily",
            name_zh="电梯日常巡查表",
            name_en="Lift daily patrol",
            kinds=[EquipmentKind.LIFT],
            items=[{"code": c, "text_zh": zh, "text_en": en} for c, zh, en in LIFT_ITEMS],
        ),
    }
    services.checklist_publish(
        actor=None,
        event=event,
        code="escalator-daily",
        name_zh="自动扶梯日常巡查表",
        name_en="Escalator daily patrol",
        kinds=[EquipmentKind.ESCALATOR, EquipmentKind.MOVING_WALK],
        items=[{"code": c, "text_zh": zh, "text_en": en} for c, zh, en in ESCALATOR_ITEMS_V1],
    )
    # The bureau added crowd control to the escalator checklist before the opening.
    checklists[EquipmentKind.ESCALATOR] = services.checklist_publish(
        actor=None,
        event=event,
        code="escalator-daily",
        name_zh="自动扶梯日常巡查表",
        name_en="Escalator daily patrol",
        kinds=[EquipmentKind.ESCALATOR, EquipmentKind.MOVING_WALK],
        items=[{"code": c, "text_zh": zh, "text_en": en} for c, zh, en in ESCALATOR_ITEMS_V2],
    )
    person_at = dict(PostShift.objects.filter(event=event).values_list("equipment_id", "person_id"))
    people = {u.pk: u for u in User.objects.filter(pk__in=set(person_at.values()))}
    posted = list(event.equipment.filter(kind__in=POSTED_KINDS, is_active=True).order_by("pk"))
    # Every window of the plan was patrolled: the patrols are recorded as done.
    patrols = sorted(
        services.planned_patrols(event, posted, services.event_days(event)),
        key=lambda p: (p.window_start, p.equipment_id),
    )
    faults = {kind: [f for f in FAULT_NOTES if f[2] == kind] for kind in ("lift", "escalator")}
    fault_every = max(1, len(patrols) // max(1, ctx.n(24)))
    ctx.progress.start(str(_("Twice-daily patrols")), len(patrols))
    records = []
    for index, patrol in enumerate(patrols):
        equipment = patrol.equipment
        checklist = checklists[equipment.kind]
        answers = {item["code"]: Answer.OK for item in checklist.items}
        notes = ""
        if index % fault_every == fault_every // 2:
            code, note, _kind = rng.choice(faults[equipment.kind])
            answers[code] = Answer.FAULT
            notes = note
        started = patrol.window_start + dt.timedelta(minutes=rng.randint(0, 120))
        records.append(
            services.PatrolRecord(
                patrol=patrol,
                person=people[person_at[equipment.pk]],
                checklist=checklist,
                started_at=started,
                completed_at=started + dt.timedelta(minutes=rng.randint(4, 12)),
                answers=answers,
                notes=notes,
            )
        )
        if len(records) >= 2000:
            services.patrol_bulk_record(actor=None, records=records)
            ctx.progress.advance(len(records))
            records = []
    if records:
        services.patrol_bulk_record(actor=None, records=records)
    ctx.progress.finish()


DISTRICTS = [
    "黄浦区",
    "徐汇区",
    "长宁区",
    "静安区",
    "普陀区",
    "虹口区",
    "杨浦区",
    "闵行区",
    "宝山区",
    "嘉定区",
    "浦东新区",
    "金山区",
    "松江区",
    "青浦区",
    "奉贤区",
    "崇明区",
]


def _split(total: int, weights: list[float]) -> list[int]:
    """Integers in proportion to ``weights`` that add up to exactly ``total``."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    parts = [int(s) for s in shares]
    order = sorted(range(len(shares)), key=lambda i: shares[i] - parts[i], reverse=True)
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


@step(SCENARIO, "equipment.campaign", order=48, label=_("City-wide inspection campaign"))
def load_campaign(ctx: ScenarioContext) -> None:
    event = ctx.event
    rng = ctx.rng
    campaign = services.campaign_create(
        actor=None,
        event=event,
        code="citywide-2021",
        name_zh="进博会特种设备安全全市专项检查",
        name_en="City-wide special equipment safety campaign for the CIIE",
        since=CAMPAIGN_SINCE,
    )
    periods = []
    start = CAMPAIGN_SINCE
    while start <= event.closing:
        periods.append((start, min(start + dt.timedelta(days=6), event.closing)))
        start += dt.timedelta(days=7)
    cells = [(d, p) for p in periods for d in DISTRICTS]
    # Busier in the weeks before the opening and in the big districts.
    weights = [
        (1.5 if p[0] >= dt.date(2021, 10, 1) else 1.0)
        * (2.0 if d in {"浦东新区", "闵行区", "青浦区"} else 1.0)
        * rng.uniform(0.7, 1.3)
        for d, p in cells
    ]
    units = _split(ctx.n(COUNTS["campaign_units"]), weights)
    sets = _split(ctx.n(COUNTS["campaign_sets"]), [u * rng.uniform(0.9, 1.1) + 0.01 for u in units])
    ctx.progress.start(str(_("City-wide inspection campaign")), len(cells))
    for (district, (period_start, period_end)), n_units, n_sets in zip(
        cells, units, sets, strict=True
    ):
        services.campaign_record_save(
            actor=None,
            campaign=campaign,
            district=district,
            period_start=period_start,
            period_end=period_end,
            units_inspected=n_units,
            equipment_sets=max(n_sets, 1 if n_units else 0),
        )
        ctx.progress.advance()
    ctx.progress.finish()
