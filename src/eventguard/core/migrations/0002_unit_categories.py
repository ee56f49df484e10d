"""The managed list of unit categories, and the head of the audit chain."""

from django.db import migrations

CATEGORIES = [
    ("in_venue_food_business", "馆内食品经营单位", "In-venue food business", "food", 10),
    ("group_meal_enterprise", "团膳企业", "Group-meal enterprise", "food", 20),
    ("collective_meal_delivery", "集体用餐配送单位", "Collective-meal delivery unit", "food", 25),
    ("raw_material_supplier", "食品原料供应商", "Food raw-material supplier", "food", 30),
    ("reception_hotel", "接待酒店", "Reception hotel", "food", 40),
    ("coldchain_warehouse", "进口冷链食品展品总仓", "Cold-chain central warehouse", "coldchain", 50),
    ("coldchain_carrier", "冷链运输单位", "Cold-chain carrier", "coldchain", 55),
    ("laboratory", "检测实验室", "Testing laboratory", "coldchain", 58),
    ("equipment_user_unit", "特种设备使用单位", "Equipment user unit", "equipment", 60),
    ("key_guarantee_unit", "重点保障单位", "Key guarantee unit", "equipment", 70),
    ("maintenance_unit", "维保单位", "Maintenance unit", "equipment", 75),
    ("exhibitor", "展商", "Exhibitor", "coldchain", 80),
    ("other", "其他", "Other", "registry", 100),
]


def forwards(apps, schema_editor):
    UnitCategory = apps.get_model("core", "UnitCategory")
    AuditHead = apps.get_model("core", "AuditHead")
    for code, zh, en, domain, order in CATEGORIES:
        UnitCategory.objects.update_or_create(
            code=code, defaults={"name_zh": zh, "name_en": en, "domain": domain, "sort_order": order}
        )
    AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": "0" * 64})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
