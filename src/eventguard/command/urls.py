from django.urls import path

from . import views

app_name = "command"

urlpatterns = [
    path("e/<slug:event_code>/command/", views.dashboard_page, name="dashboard"),
    path("e/<slug:event_code>/command/live/", views.dashboard_data, name="dashboard_data"),
    path("e/<slug:event_code>/command/statistics/", views.statistics_page, name="statistics"),
    path("e/<slug:event_code>/command/settings/", views.settings_home, name="settings"),
    path(
        "e/<slug:event_code>/command/settings/escalation/",
        views.escalation_chains,
        name="escalation_chains",
    ),
    path(
        "e/<slug:event_code>/command/settings/escalation/<slug:severity>/add/",
        views.escalation_level_form,
        name="escalation_level_add",
    ),
    path(
        "e/<slug:event_code>/command/settings/escalation/<slug:severity>/<int:level>/",
        views.escalation_level_form,
        name="escalation_level_edit",
    ),
    path(
        "e/<slug:event_code>/command/settings/escalation/<slug:severity>/<int:level>/move/",
        views.escalation_level_move,
        name="escalation_level_move",
    ),
    path(
        "e/<slug:event_code>/command/settings/escalation/<slug:severity>/<int:level>/remove/",
        views.escalation_level_remove,
        name="escalation_level_remove",
    ),
    path("e/<slug:event_code>/command/settings/webhooks/", views.webhook_list, name="webhook_list"),
    path(
        "e/<slug:event_code>/command/settings/webhooks/add/",
        views.webhook_form,
        name="webhook_add",
    ),
    path(
        "e/<slug:event_code>/command/settings/webhooks/<int:pk>/",
        views.webhook_form,
        name="webhook_edit",
    ),
    path(
        "e/<slug:event_code>/command/settings/webhooks/<int:pk>/active/",
        views.webhook_active,
        name="webhook_active",
    ),
    path(
        "e/<slug:event_code>/command/settings/webhooks/<int:pk>/rotate/",
        views.webhook_rotate,
        name="webhook_rotate",
    ),
    path(
        "e/<slug:event_code>/command/settings/webhooks/<int:pk>/deliveries/",
        views.webhook_deliveries,
        name="webhook_deliveries",
    ),
    path(
        "e/<slug:event_code>/command/settings/webhooks/<int:pk>/deliveries/<int:delivery_pk>/retry/",
        views.webhook_delivery_retry,
        name="webhook_delivery_retry",
    ),
    path("e/<slug:event_code>/feed/", views.feed_page, name="feed"),
    path("e/<slug:event_code>/feed/settings/", views.preferences_page, name="preferences"),
    path("e/<slug:event_code>/feed/stream/", views.feed_stream, name="feed_stream"),
    path("e/<slug:event_code>/work-orders/", views.work_order_list, name="work_order_list"),
    path(
        "e/<slug:event_code>/work-orders/<int:pk>/",
        views.work_order_detail,
        name="work_order_detail",
    ),
    path(
        "e/<slug:event_code>/work-orders/<int:pk>/<slug:action>/",
        views.work_order_step,
        name="work_order_step",
    ),
    path(
        "e/<slug:event_code>/alarms/<int:alarm_pk>/dispatch/",
        views.work_order_dispatch,
        name="work_order_dispatch",
    ),
]
