"""The registry's pages. ``root_urlpatterns`` holds the project-wide names (no namespace)."""

from django.urls import path

from . import views

app_name = "core"

root_urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("language/", views.set_language, name="set_language"),
]

E = "e/<slug:event_code>/"

urlpatterns = [
    path("events/", views.event_list, name="event_list"),
    path(E, views.event_home, name="event_home"),
    path(f"{E}edit/", views.event_edit, name="event_edit"),
    path(f"{E}figures/", views.figures, name="figures"),
    path(f"{E}zones/", views.zone_list, name="zone_list"),
    path(f"{E}zones/new/", views.zone_create, name="zone_create"),
    path(f"{E}zones/import/", views.zone_import, name="zone_import"),
    path(f"{E}zones/<int:pk>/", views.zone_detail, name="zone_detail"),
    path(f"{E}zones/<int:pk>/edit/", views.zone_edit, name="zone_edit"),
    path(f"{E}units/", views.unit_list, name="unit_list"),
    path(f"{E}units/new/", views.unit_create, name="unit_create"),
    path(f"{E}units/import/", views.unit_import, name="unit_import"),
    path(f"{E}units/<int:pk>/", views.unit_detail, name="unit_detail"),
    path(f"{E}units/<int:pk>/edit/", views.unit_edit, name="unit_edit"),
    path(f"{E}people/", views.person_list, name="person_list"),
    path(f"{E}people/new/", views.person_create, name="person_create"),
    path(f"{E}people/import/", views.person_import, name="person_import"),
    path(f"{E}people/<int:pk>/", views.assignment_detail, name="assignment_detail"),
    path(f"{E}people/<int:pk>/revoke/", views.assignment_revoke, name="assignment_revoke"),
    path(f"{E}audit/", views.audit_list, name="audit_list"),
    path(f"{E}audit/<int:seq>/", views.audit_detail, name="audit_detail"),
]
