from django.urls import path

from . import views

app_name = "command"

urlpatterns = [
    path("e/<slug:event_code>/command/", views.dashboard_page, name="dashboard"),
    path("e/<slug:event_code>/command/live/", views.dashboard_data, name="dashboard_data"),
    path("e/<slug:event_code>/command/statistics/", views.statistics_page, name="statistics"),
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
