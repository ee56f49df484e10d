"""Work orders: dispatch from an alarm (default assignee: the person on post) or a hidden
danger, the state machine and its refusals, the alarm's timeline, overdue, scoping, API and
pages."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from eventguard.alerts import services as alert_services
from eventguard.command import services
from eventguard.command.models import Notification, WorkOrder
from eventguard.command.selectors import WorkOrderFilters, work_order_list
from eventguard.core.testing import api_client_for, client_for

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def test_an_elevator_alarm_goes_to_the_person_on_post_and_every_step_is_on_its_timeline(
    world, trapped
):
    work = services.work_order_dispatch(actor=world.commander, alarm=trapped)
    assert work.assignee == world.post_a and work.state == "dispatched"
    assert Notification.objects.filter(user=world.post_a, kind="work_order.dispatched").exists()
    services.work_order_accept(actor=world.post_a, work_order=work)
    services.work_order_arrive(actor=world.post_a, work_order=work)
    photo = SimpleUploadedFile("door.png", PNG, content_type="image/png")
    work = services.work_order_complete(
        actor=world.post_a, work_order=work, note="passenger released", photos=[photo]
    )
    assert work.state == "done" and work.finished_at and work.photos.count() == 1
    alert_services.alarm_clear(actor=world.commander, alarm=trapped, note="lift back in service")
    actions = [e.action for e in trapped.entries.all()]
    assert actions[:1] == ["raised"]
    assert [a for a in actions if a.startswith(("dispatched", "work_", "cleared"))] == [
        "dispatched",
        "work_accepted",
        "work_arrived",
        "work_done",
        "cleared",
    ]
    assert [e.action for e in work.entries.all()] == [
        "dispatched",
        "accepted",
        "arrived",
        "completed",
    ]


def test_steps_out_of_order_are_refused_by_name(world, trapped):
    work = services.work_order_dispatch(actor=world.commander, alarm=trapped)
    with pytest.raises(ValidationError) as info:
        services.work_order_complete(actor=world.post_a, work_order=work, note="done")
    assert "on site first" in str(info.value)
    with pytest.raises(ValidationError) as info:
        services.work_order_arrive(actor=world.post_a, work_order=work)
    assert "accepted first" in str(info.value)
    services.work_order_accept(actor=world.post_a, work_order=work)
    services.work_order_arrive(actor=world.post_a, work_order=work)
    with pytest.raises(ValidationError) as info:
        services.work_order_complete(actor=world.post_a, work_order=work, note=" ")
    assert "Say what was done" in str(info.value)


def test_only_the_assignee_moves_a_work_order(world, trapped):
    work = services.work_order_dispatch(actor=world.commander, alarm=trapped)
    with pytest.raises(ValidationError) as info:
        services.work_order_accept(actor=world.post_a2, work_order=work)
    assert "only they can accept it" in str(info.value)
    with pytest.raises(PermissionDenied):
        services.work_order_accept(actor=world.post_b, work_order=work)


def test_a_returned_work_order_says_why_and_can_be_dispatched_again(world, trapped):
    work = services.work_order_dispatch(actor=world.commander, alarm=trapped)
    with pytest.raises(ValidationError):
        services.work_order_return(actor=world.post_a, work_order=work, note="")
    work = services.work_order_return(actor=world.post_a, work_order=work, note="not my lift")
    assert work.state == "returned" and work.result_note == "not my lift"
    again = services.work_order_dispatch(
        actor=world.commander, alarm=trapped, assignee=world.post_a2
    )
    assert again.assignee == world.post_a2


def test_without_anyone_on_post_the_dispatcher_must_choose(world, report):
    from eventguard.alerts.models import Alarm
    from eventguard.telemetry.testing import elevator

    report(world.device_b, elevator(1, fault="trapped_away_from_floor"))
    alarm = Alarm.objects.get(subject_id=world.lift_b.pk)
    with pytest.raises(ValidationError) as info:
        services.work_order_dispatch(actor=world.commander, alarm=alarm)
    assert "Nobody is on post" in str(info.value)
    with pytest.raises(ValidationError) as info:
        services.work_order_dispatch(actor=world.commander, alarm=alarm, assignee=world.post_a)
    assert "may not see" in str(info.value)  # post A is not in hall B


def test_a_cleared_alarm_and_a_past_deadline_are_refused(world, trapped):
    with pytest.raises(ValidationError) as info:
        services.work_order_dispatch(
            actor=world.commander,
            alarm=trapped,
            deadline=timezone.now() - dt.timedelta(minutes=1),
        )
    assert "future" in str(info.value)
    alert_services.alarm_clear(actor=world.commander, alarm=trapped, note="false alarm")
    with pytest.raises(ValidationError) as info:
        services.work_order_dispatch(actor=world.commander, alarm=trapped)
    assert "cleared" in str(info.value)


def test_a_work_order_from_a_hidden_danger(world):
    from eventguard.hazards.services import hazard_report

    hazard = hazard_report(
        actor=world.sup_a,
        event=world.event,
        title="Loose handrail",
        zone=world.zone_a,
    )
    work = services.work_order_dispatch(actor=world.sup_a, hazard=hazard, assignee=world.post_a)
    assert work.hazard == hazard and work.domain == "hazards" and work.zone == world.zone_a


def test_overdue_work_orders_are_flagged_and_listed(world, trapped):
    work = services.work_order_dispatch(actor=world.commander, alarm=trapped)
    WorkOrder.objects.filter(pk=work.pk).update(deadline=timezone.now() - dt.timedelta(minutes=5))
    overdue = work_order_list(
        user=world.commander, event=world.event, filters=WorkOrderFilters(overdue=True)
    )
    assert list(overdue) == [work]
    page = client_for(world.commander).get(f"/e/{world.event.code}/work-orders/?overdue=true")
    assert page.status_code == 200 and "Overdue" in page.content.decode()
    assert work.title in page.content.decode()


def test_work_order_api_end_to_end_and_out_of_scope_is_404(world, trapped):
    client, headers = api_client_for(world.commander)
    r = client.post(
        "/api/work-orders",
        {"alarm": trapped.pk, "instructions": "check the car"},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["assignee"] == world.post_a.username and body["state"] == "dispatched"
    wid = body["id"]
    post, post_headers = api_client_for(world.post_a)
    for action, state in (("accept", "accepted"), ("arrive", "on_site")):
        r = post.post(
            f"/api/work-orders/{wid}/{action}", {}, content_type="application/json", **post_headers
        )
        assert r.status_code == 200, r.content
        assert r.json()["state"] == state
    r = post.post(
        f"/api/work-orders/{wid}/complete",
        {"note": ""},
        content_type="application/json",
        **post_headers,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "note"
    r = post.post(
        f"/api/work-orders/{wid}/complete",
        {"note": "released"},
        content_type="application/json",
        **post_headers,
    )
    assert r.status_code == 200 and r.json()["state"] == "done"
    assert [e["action"] for e in r.json()["timeline"]] == [
        "dispatched",
        "accepted",
        "arrived",
        "completed",
    ]
    r = client.get(f"/api/work-orders?event={world.event.code}&state=open", **headers)
    assert r.json()["count"] == 0
    outsider, outsider_headers = api_client_for(world.post_b)
    assert outsider.get(f"/api/work-orders/{wid}", **outsider_headers).status_code == 404
    r = outsider.get(f"/api/work-orders?event={world.event.code}", **outsider_headers)
    assert r.json()["count"] == 0
    assert "/api/work-orders/{work_id}/{action}" in client.get("/api/openapi.json").json()["paths"]


def test_the_pages_dispatch_and_step_a_work_order(world, trapped):
    commander = client_for(world.commander)
    page = commander.get(f"/e/{world.event.code}/alarms/{trapped.pk}/dispatch/")
    assert page.status_code == 200 and world.post_a.username in page.content.decode()
    r = commander.post(
        f"/e/{world.event.code}/alarms/{trapped.pk}/dispatch/",
        {"assignee": "", "deadline_minutes": 20, "instructions": "go"},
    )
    assert r.status_code == 302
    work = WorkOrder.objects.get()
    post = client_for(world.post_a)
    detail = post.get(f"/e/{world.event.code}/work-orders/{work.pk}/")
    assert "Accept" in detail.content.decode()
    post.post(f"/e/{world.event.code}/work-orders/{work.pk}/accept/", {"note": ""})
    r = post.post(f"/e/{world.event.code}/work-orders/{work.pk}/complete/", {"note": "x"})
    r = post.get(r.url)
    assert "on site first" in r.content.decode()
    work.refresh_from_db()
    assert work.state == "accepted"
    outsider = client_for(world.post_b)
    assert outsider.get(f"/e/{world.event.code}/work-orders/{work.pk}/").status_code == 404
