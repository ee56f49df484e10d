from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("e/<slug:event_code>/units/", views.unit_list, name="unit_list"),
]
