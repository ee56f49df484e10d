from django.urls import path

from . import views

app_name = "telemetry"

urlpatterns = [
    path("e/<slug:event_code>/devices/", views.device_list, name="device_list"),
    path(
        "e/<slug:event_code>/devices/dead-letters/",
        views.dead_letter_list,
        name="dead_letter_list",
    ),
]
