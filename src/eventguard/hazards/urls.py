from django.urls import path

from . import views

app_name = "hazards"

H = "e/<slug:event_code>/hazards/"
R = "e/<slug:event_code>/risks/"

urlpatterns = [
    path(H, views.hazard_list, name="hazard_list"),
    path(f"{H}new/", views.hazard_report, name="hazard_report"),
    path(f"{H}<int:pk>/", views.hazard_detail, name="hazard_detail"),
    path(f"{H}<int:pk>/photos/<int:photo_pk>/", views.hazard_photo, name="hazard_photo"),
    path(R, views.risk_list, name="risk_list"),
    path(f"{R}new/", views.risk_create, name="risk_create"),
    path(f"{R}matrix/", views.risk_matrix, name="risk_matrix"),
    path(f"{R}map/", views.risk_map, name="risk_map"),
    path(f"{R}grading/", views.risk_grading, name="risk_grading"),
    path(f"{R}<int:pk>/", views.risk_detail, name="risk_detail"),
    path(f"{R}<int:pk>/edit/", views.risk_edit, name="risk_edit"),
]
