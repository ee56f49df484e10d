"""The reference scenario ``ciie-2021``: dual prevention for the venue's lifts and escalators.

52 risk points graded by LEC, each with a responsible person and a control measure; hidden
dangers found on patrols, in guarantee testing and by hand, taken through the closed loop
(a few sent back once, and a handful still open at the end of the event).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from eventguard.core.models import Unit, User
from eventguard.core.scenario import ScenarioContext, step
from eventguard.core.scenarios.ciie2021 import EVENT_CODE, SCENARIO
from eventguard.equipment.models import POSTED_KINDS, Equipment, GuaranteeTest, Patrol

from . import services
from .models import HazardGrade, HazardSource

# (title zh, hazard zh, control measure zh, kind, L, E, C)
RISK_TEMPLATES = [
    (
        "扶梯逆转",
        "满载上行时驱动链断裂或制动失效导致扶梯逆转，乘客摔倒踩踏",
        "每日检查附加制动器和驱动链保护装置；高峰时段限流并安排专人疏导",
        "escalator",
        "3",
        "6",
        "15",
    ),
    (
        "梯级缺失",
        "梯级或踏板缺损未被检测，乘客踏空坠落",
        "梯级缺失保护装置每周功能试验；每日开馆前空载试运行",
        "escalator",
        "1",
        "6",
        "15",
    ),
    (
        "围裙板夹人",
        "乘客鞋或衣物被夹入梯级与围裙板间隙",
        "检查围裙板防夹装置和间隙；设置安全提示并广播",
        "escalator",
        "3",
        "6",
        "7",
    ),
    (
        "扶手带夹手",
        "扶手带入口处夹住儿童手指",
        "扶手带入口保护开关每日试验；出入口安排引导员",
        "escalator",
        "1",
        "6",
        "7",
    ),
    (
        "出入口拥堵",
        "出入口人员聚集，乘客在梳齿板处跌倒",
        "设置排队护栏，人流高峰时段暂停部分扶梯并引导分流",
        "escalator",
        "6",
        "6",
        "3",
    ),
    (
        "梳齿板断齿",
        "梳齿板断齿导致异物卷入或绊倒",
        "巡查时检查梳齿板并及时更换；配备备件",
        "escalator",
        "3",
        "3",
        "3",
    ),
    (
        "电梯困人",
        "电梯故障停梯，乘客被困轿厢",
        "五方通话每日测试；维保单位驻场，接警后5分钟到达",
        "lift",
        "3",
        "6",
        "3",
    ),
    (
        "层门门锁失效",
        "层门门锁失效，人员坠入井道",
        "层门门锁电气安全装置每周测试；禁止非专业人员开启层门",
        "lift",
        "0.5",
        "6",
        "40",
    ),
    (
        "制动器失效",
        "制动器闸瓦磨损导致轿厢意外移动",
        "制动器检查纳入每日巡查；展前完成制动力试验",
        "lift",
        "0.5",
        "6",
        "40",
    ),
    (
        "超载运行",
        "超载保护装置失效，轿厢溜梯",
        "超载装置展前校验；高峰时段安排人员控制乘梯人数",
        "lift",
        "1",
        "6",
        "15",
    ),
    (
        "应急照明失效",
        "停电时轿厢无照明，乘客恐慌",
        "应急照明电池每日检查，展前全部更换",
        "lift",
        "1",
        "3",
        "3",
    ),
    (
        "平层误差",
        "平层误差过大导致乘客绊倒",
        "维保单位每日调校，巡查时记录平层情况",
        "lift",
        "3",
        "3",
        "3",
    ),
    (
        "机房高温",
        "机房通风不良导致控制柜过热停梯",
        "增设临时空调，值守人员每2小时记录机房温度",
        "lift",
        "1",
        "2",
        "3",
    ),
]

HAZARD_MEASURES = [
    "维保单位更换损坏部件，并进行功能试验",
    "调整部件间隙，恢复正常运行后复核",
    "更换标识并张贴新的安全须知",
    "增派现场疏导人员，设置隔离护栏",
]
EVIDENCE = [
    "已更换部件，功能试验正常，附维保记录",
    "已调整完毕，现场复核运行正常",
    "已完成整改，现场照片和记录已上传",
]


def _people(event):
    necc = Unit.objects.filter(event=event, category__code="key_guarantee_unit").order_by("pk")[0]
    operator = User.objects.filter(
        assignments__event=event, assignments__unit=necc, assignments__role="unit_operator"
    ).first()
    supervisors = list(
        User.objects.filter(
            username__startswith=f"{EVENT_CODE}-sup-equipment-", assignments__event=event
        ).order_by("username")
    )
    return necc, operator, supervisors


@step(SCENARIO, "hazards.risks", order=50, label=_("Risk points"))
def load_risk_points(ctx: ScenarioContext) -> None:
    event = ctx.event
    rng = ctx.rng
    services.risk_grading_set(
        actor=None,
        event=event,
        red_above=Decimal("160"),
        orange_from=Decimal("70"),
        yellow_from=Decimal("20"),
    )
    _necc, operator, supervisors = _people(event)
    owners = [p for p in [operator, *supervisors] if p is not None]
    # Risk points sit on the busiest lifts and escalators: core areas first.
    candidates = list(
        Equipment.objects.filter(event=event, kind__in=POSTED_KINDS, zone__isnull=False)
        .select_related("zone", "user_unit")
        .order_by("-is_core_area", "-traffic_level", "pk")
    )
    count = ctx.n(52)
    ctx.progress.start(str(_("Risk points")), count)
    by_kind = {kind: [t for t in RISK_TEMPLATES if t[3] == kind] for kind in ("escalator", "lift")}
    chosen = candidates[: count * 3]
    rng.shuffle(chosen)
    chosen = sorted(chosen[:count], key=lambda e: e.pk)
    for index, equipment in enumerate(chosen):
        templates = by_kind[equipment.kind]
        title, hazard, measure, _kind, l_value, e_value, c_value = templates[index % len(templates)]
        services.risk_point_create(
            actor=None,
            event=event,
            code=f"fx-{index + 1:03d}",
            title=f"{equipment.position or equipment.code}{title}",
            domain="equipment",
            hazard_description=hazard,
            likelihood=Decimal(l_value),
            exposure=Decimal(e_value),
            consequence=Decimal(c_value),
            equipment=equipment,
            control_measures=measure,
            responsible_person=owners[index % len(owners)] if owners else None,
            review_on=dt.date(2021, 12, 31) - dt.timedelta(days=rng.randint(0, 20)),
        )
        ctx.progress.advance()
    ctx.progress.finish()


def _work_through(
    hazard, *, operator, supervisor, rng, reported_at: dt.datetime, final: str, reject: bool
):
    """Take a hazard through the loop up to ``final`` ("reported", "assigned", "rectified",
    "closed"), with one rejection on the way when ``reject``."""
    if final == "reported":
        return
    at = reported_at + dt.timedelta(minutes=rng.randint(10, 60))
    deadline = at + dt.timedelta(hours=rng.choice([4, 8, 24, 48]))
    services.hazard_assign(
        actor=None,
        hazard=hazard,
        assignee=operator,
        measure=rng.choice(HAZARD_MEASURES),
        deadline=deadline,
        at=at,
    )
    if final == "assigned":
        return
    at += dt.timedelta(minutes=rng.randint(30, 180))
    services.hazard_rectify(actor=None, hazard=hazard, evidence=rng.choice(EVIDENCE), at=at)
    if reject:
        at += dt.timedelta(minutes=rng.randint(20, 60))
        services.hazard_reject(
            actor=None, hazard=hazard, reason="复查发现整改不到位，需重新处理", at=at
        )
        at += dt.timedelta(minutes=rng.randint(30, 120))
        services.hazard_rectify(actor=None, hazard=hazard, evidence="已重新整改，复查合格", at=at)
    if final == "rectified":
        return
    at += dt.timedelta(minutes=rng.randint(20, 90))
    services.hazard_accept(actor=None, hazard=hazard, note="复查合格，予以销号", at=at)


@step(SCENARIO, "hazards.hidden_dangers", order=52, label=_("Hidden dangers"))
def load_hazards(ctx: ScenarioContext) -> None:
    event = ctx.event
    rng = ctx.rng
    _necc, operator, supervisors = _people(event)
    supervisor = supervisors[0] if supervisors else None
    found = []
    for patrol in (
        Patrol.objects.filter(event=event, status="completed")
        .exclude(notes="")
        .select_related("equipment__zone", "equipment__user_unit", "checklist")
        .order_by("completed_at", "pk")
    ):
        item = next(
            (i for i in patrol.checklist.items if patrol.answers.get(i["code"]) == "fault"), None
        )
        found.append(
            {
                "title": f"{patrol.equipment.code} · {patrol.notes}",
                "description": f"{patrol.notes}\n（检查项：{item['text_zh']}）"
                if item
                else patrol.notes,
                "source": HazardSource.PATROL,
                "source_ref": f"patrol:{patrol.pk}",
                "equipment": patrol.equipment,
                "at": patrol.completed_at,
            }
        )
    for test in (
        GuaranteeTest.objects.filter(event=event, equipment__zone__isnull=False)
        .exclude(findings="")
        .select_related("equipment__zone", "equipment__user_unit")
        .order_by("tested_on", "pk")[: ctx.n(8)]
    ):
        found.append(
            {
                "title": f"{test.equipment.code} · {test.findings[:60]}",
                "description": test.findings,
                "source": HazardSource.INSPECTION,
                "source_ref": f"guarantee_test:{test.pk}",
                "equipment": test.equipment,
                "at": dt.datetime.combine(
                    test.tested_on, dt.time(15, 0), tzinfo=dt.timezone(dt.timedelta(hours=8))
                ),
            }
        )
    found.sort(key=lambda f: f["at"])
    ctx.progress.start(str(_("Hidden dangers")), len(found))
    # The last three found stay open: one just reported, one assigned and one rectified.
    finals = ["closed"] * max(0, len(found) - 3) + ["reported", "assigned", "rectified"]
    finals = finals[-len(found) :] if found else []
    for index, (spec, final) in enumerate(zip(found, finals, strict=True)):
        grade = HazardGrade.MAJOR if index % 9 == 4 else HazardGrade.GENERAL
        hazard = services.hazard_report(
            actor=None,
            event=event,
            title=spec["title"][:200],
            description=spec["description"],
            grade=grade,
            source=spec["source"],
            source_ref=spec["source_ref"],
            equipment=spec["equipment"],
            at=spec["at"],
        )
        if operator is not None:
            _work_through(
                hazard,
                operator=operator,
                supervisor=supervisor,
                rng=rng,
                reported_at=spec["at"],
                final=final,
                reject=final == "closed" and index % 6 == 2,
            )
        ctx.progress.advance()
    ctx.progress.finish()
