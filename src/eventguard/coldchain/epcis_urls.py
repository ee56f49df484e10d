"""The ``/epcis/`` URL prefix: the GS1 EPCIS 2.0 interface of every event."""

from django.urls import path

from .epcis_api import epcis_api

urlpatterns = [path("", epcis_api.urls)]
