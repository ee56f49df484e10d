from django.apps import AppConfig


class HazardsConfig(AppConfig):
    name = "eventguard.hazards"
    label = "hazards"
