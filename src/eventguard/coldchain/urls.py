from django.urls import path

from . import views

app_name = "coldchain"

urlpatterns = [
    path("e/<slug:event_code>/coldchain/", views.overview, name="overview"),
    path(
        "e/<slug:event_code>/coldchain/consignments/",
        views.consignment_list,
        name="consignment_list",
    ),
    path(
        "e/<slug:event_code>/coldchain/consignments/new/",
        views.consignment_create,
        name="consignment_create",
    ),
    path(
        "e/<slug:event_code>/coldchain/consignments/<int:pk>/",
        views.consignment_detail,
        name="consignment_detail",
    ),
    path("e/<slug:event_code>/coldchain/boxes/", views.box_list, name="box_list"),
    path("e/<slug:event_code>/coldchain/boxes/<str:code>/", views.box_detail, name="box_detail"),
    path(
        "e/<slug:event_code>/coldchain/boxes/<str:code>/label/",
        views.box_label,
        name="box_label",
    ),
    path("e/<slug:event_code>/coldchain/gate/", views.gate, name="gate"),
    path("e/<slug:event_code>/coldchain/exhibitors/", views.exhibitor_list, name="exhibitor_list"),
    path("e/<slug:event_code>/coldchain/deadline/", views.deadline, name="deadline"),
    path("e/<slug:event_code>/coldchain/steps/", views.steps, name="steps"),
]
