from django.urls import path

from . import views

app_name = "alerts"

urlpatterns = [
    path("e/<slug:event_code>/alarms/", views.alarm_list, name="alarm_list"),
    path("e/<slug:event_code>/alarms/<int:pk>/", views.alarm_detail, name="alarm_detail"),
    path(
        "e/<slug:event_code>/alarms/<int:pk>/acknowledge/",
        views.alarm_acknowledge,
        name="alarm_acknowledge",
    ),
    path("e/<slug:event_code>/alarms/<int:pk>/clear/", views.alarm_clear, name="alarm_clear"),
    path("e/<slug:event_code>/alarms/<int:pk>/assign/", views.alarm_assign, name="alarm_assign"),
    path("e/<slug:event_code>/alarms/<int:pk>/comment/", views.alarm_comment, name="alarm_comment"),
    path("e/<slug:event_code>/rules/", views.rule_list, name="rule_list"),
    path(
        "e/<slug:event_code>/rules/install-defaults/",
        views.rules_install_defaults,
        name="rules_install_defaults",
    ),
    path("e/<slug:event_code>/rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("e/<slug:event_code>/rules/<int:pk>/enable/", views.rule_enable, name="rule_enable"),
    path("e/<slug:event_code>/rules/<int:pk>/disable/", views.rule_disable, name="rule_disable"),
]
