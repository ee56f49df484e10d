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

urlpatterns = [
    path("events/", views.event_list, name="event_list"),
    path("e/<slug:event_code>/", views.event_home, name="event_home"),
    path("e/<slug:event_code>/units/", views.unit_list, name="unit_list"),
]
