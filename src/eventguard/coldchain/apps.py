from django.apps import AppConfig


class ColdchainConfig(AppConfig):
    name = "eventguard.coldchain"
    label = "coldchain"
