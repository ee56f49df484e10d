"""The registry's figures: supervised units by category."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .figures import register
from .models import Unit

CATEGORY_FIGURES = [
    ("registry.in_venue_food_businesses", "in_venue_food_business", _("In-venue food businesses")),
    ("registry.group_meal_enterprises", "group_meal_enterprise", _("Group-meal enterprises")),
    ("registry.raw_material_suppliers", "raw_material_supplier", _("Food raw-material suppliers")),
    ("registry.reception_hotels", "reception_hotel", _("Reception hotels")),
    ("registry.coldchain_warehouses", "coldchain_warehouse", _("Cold-chain central warehouses")),
    ("registry.key_guarantee_units", "key_guarantee_unit", _("Key guarantee units")),
    ("registry.exhibitors", "exhibitor", _("Exhibitors")),
]


def _register(key: str, category: str, label, order: int) -> None:
    register(
        key,
        label=label,
        compute=lambda event: Unit.objects.filter(
            event=event, category__code=category, is_active=True
        ).count(),
        records_url=lambda event: (
            reverse("core:unit_list", args=[event.code]) + f"?category={category}&is_active=true"
        ),
        order=order,
    )


for index, (key, category, label) in enumerate(CATEGORY_FIGURES):
    _register(key, category, label, order=10 + index)
