from django.apps import AppConfig


class EquipmentConfig(AppConfig):
    name = "eventguard.equipment"
    label = "equipment"
