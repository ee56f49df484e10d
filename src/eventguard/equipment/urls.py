from django.urls import path

from . import views

app_name = "equipment"

E = "e/<slug:event_code>/equipment/"

urlpatterns = [
    path(E, views.equipment_list, name="equipment_list"),
    path(f"{E}new/", views.equipment_create, name="equipment_create"),
    path(f"{E}import/", views.equipment_import, name="equipment_import"),
    path(f"{E}settings/", views.equipment_settings, name="settings"),
    path(f"{E}<int:pk>/", views.equipment_detail, name="equipment_detail"),
    path(f"{E}<int:pk>/edit/", views.equipment_edit, name="equipment_edit"),
    path(f"{E}<int:pk>/label.svg", views.equipment_label, name="equipment_label"),
    path(f"{E}<int:pk>/patrol/", views.patrol_start, name="patrol_start"),
    path(f"{E}key-units/", views.key_unit_list, name="key_unit_list"),
    path(f"{E}key-units/<int:unit_id>/", views.key_unit_detail, name="key_unit_detail"),
    path(f"{E}posts/", views.post_coverage, name="post_coverage"),
    path(f"{E}posts/shifts/", views.shift_list, name="shift_list"),
    path(f"{E}posts/mine/", views.my_shifts, name="my_shifts"),
    path(f"{E}posts/shifts/<int:pk>/sign-<str:what>/", views.shift_sign, name="shift_sign"),
    path(f"{E}patrols/", views.patrol_list, name="patrol_list"),
    path(f"{E}patrols/plan/", views.patrol_plan, name="patrol_plan"),
    path(f"{E}patrols/<int:pk>/", views.patrol_detail, name="patrol_detail"),
    path(f"{E}patrols/<int:pk>/walk/", views.patrol_walk, name="patrol_walk"),
    path(f"{E}campaign/", views.campaign, name="campaign"),
    path(f"{E}campaign/import/", views.campaign_import, name="campaign_import"),
]
