"""Refusals reach a Chinese-speaking user in Chinese."""

import datetime as dt

from django.utils import timezone, translation

from eventguard.core.services import person_update
from eventguard.core.testing import api_client_for
from eventguard.hazards import services


def test_a_refusal_names_the_missing_step_in_chinese(world):
    person_update(actor=None, user=world.supervisor, language="zh-hans")
    hazard = services.hazard_report(
        actor=None, event=world.event, title="门锁失效", equipment=world.lift_a
    )
    services.hazard_assign(
        actor=None,
        hazard=hazard,
        assignee=world.operator_a,
        measure="更换门锁",
        deadline=timezone.now() + dt.timedelta(days=1),
    )
    client, headers = api_client_for(world.supervisor)
    body = client.post(
        f"/api/hazards/{hazard.pk}/transitions", {"action": "accept"}, **headers
    ).json()
    message = body["errors"][0]["message"]
    assert message == (f"隐患 {hazard.code}：状态为“已交办”时不能验收通过；须先为“已整改”。")


def test_every_choice_label_has_a_chinese_name():
    from eventguard.equipment.models import EquipmentKind
    from eventguard.hazards.models import HazardStatus, RiskGrade

    with translation.override("zh-hans"):
        assert str(EquipmentKind.ESCALATOR.label) == "自动扶梯"
        assert str(HazardStatus.RECTIFIED.label) == "已整改"
        assert str(RiskGrade.RED.label) == "红色 · 重大风险"
