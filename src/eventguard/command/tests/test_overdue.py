"""A work order past its deadline: its assignee and the event's commanders are told once,
on their channels and the webhooks, and its timeline says so; several workers tell once."""

import datetime as dt
import json
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from eventguard.command import services, tasks
from eventguard.command.models import (
    EmailDelivery,
    Notification,
    WebhookDelivery,
    WorkOrder,
    WorkOrderEntry,
)
from eventguard.core.models import AuditEntry
from eventguard.core.testing import api_client_for, client_for


def _work(world, trapped, minutes=5):
    return services.work_order_dispatch(
        actor=world.commander,
        alarm=trapped,
        deadline=timezone.now() + dt.timedelta(minutes=minutes),
        instructions="free the passenger",
    )


def test_an_overdue_work_order_is_told_once_to_its_assignee_and_the_commanders(world, trapped):
    services.webhook_create(
        actor=world.commander, event=world.event, name="duty room", url="http://127.0.0.1:9/"
    )
    work = _work(world, trapped)
    assert services.work_orders_overdue() == 0  # not yet past its deadline
    later = timezone.now() + dt.timedelta(minutes=6)

    assert services.work_orders_overdue(now=later) == 1
    told = Notification.objects.filter(kind="work_order.overdue")
    assert {n.user for n in told} == {world.post_a, world.commander}
    assert told.first().title_text == f"Work order {work.pk} is past its deadline: {work.title}"
    assert "still Dispatched" in told.first().body_text
    # A critical alarm's work order: e-mail by default, one per person.
    emails = EmailDelivery.objects.filter(topic="work_order.overdue")
    assert sorted(emails.values_list("to", flat=True)) == sorted(
        [world.post_a.email, world.commander.email]
    )
    hook = WebhookDelivery.objects.get(topic="work_order.overdue")
    assert json.loads(hook.body)["work_order"]["id"] == work.pk
    entry = WorkOrderEntry.objects.get(work_order=work, action="overdue")
    assert entry.actor is None and entry.details["to"] == sorted(
        [world.post_a.username, world.commander.username]
    )
    assert entry.text.startswith("Past its deadline (")
    assert "still Dispatched; told:" in entry.text
    assert AuditEntry.objects.filter(action="work_order.overdue", object_id=str(work.pk)).exists()

    # Once only: the timer passing again, or later, tells nobody again.
    assert services.work_orders_overdue(now=later + dt.timedelta(hours=1)) == 0
    tasks.run_due()
    assert Notification.objects.filter(kind="work_order.overdue").count() == 2
    assert WorkOrderEntry.objects.filter(work_order=work, action="overdue").count() == 1

    page = client_for(world.commander).get(f"/e/{world.event.code}/work-orders/{work.pk}/")
    assert "Past its deadline (" in page.content.decode()
    client, headers = api_client_for(world.commander)
    detail = client.get(f"/api/work-orders/{work.pk}", **headers).json()
    assert detail["timeline"][-1]["action"] == "overdue"
    assert detail["timeline"][-1]["note"].startswith("Past its deadline (")


def test_finished_and_not_yet_due_work_orders_are_not_told(world, trapped):
    done = _work(world, trapped, minutes=5)
    services.work_order_return(actor=world.post_a, work_order=done, note="lift already free")
    _work(world, trapped, minutes=60)
    later = timezone.now() + dt.timedelta(minutes=30)
    assert services.work_orders_overdue(now=later) == 0
    assert not Notification.objects.filter(kind="work_order.overdue").exists()
    assert not WorkOrder.objects.filter(overdue_notified_at__isnull=False).exists()


def test_two_workers_telling_the_same_work_order_tell_it_once(world, trapped):
    work = _work(world, trapped)
    later = timezone.now() + dt.timedelta(minutes=6)
    # A second worker that took the same row before the first committed finds the notice
    # already set and does nothing.
    assert services.work_order_overdue_notify(work_order=work, now=later) is True
    assert services.work_order_overdue_notify(work_order=work, now=later) is False
    assert services.work_orders_overdue(now=later) == 0
    assert Notification.objects.filter(kind="work_order.overdue").count() == 2
    assert WorkOrderEntry.objects.filter(work_order=work, action="overdue").count() == 1


def test_preferences_decide_how_the_overdue_notice_arrives(world, trapped):
    services.notification_preference_set(
        actor=world.commander, event=world.event, channel="email", enabled=False
    )
    services.notification_preference_set(
        actor=world.commander, event=world.event, channel="feed", enabled=False
    )
    _work(world, trapped)
    services.work_orders_overdue(now=timezone.now() + dt.timedelta(minutes=6))
    assert {n.user for n in Notification.objects.filter(kind="work_order.overdue")} == {
        world.post_a
    }
    assert list(
        EmailDelivery.objects.filter(topic="work_order.overdue").values_list("to", flat=True)
    ) == [world.post_a.email]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "sqlite" in settings.DATABASES["default"]["ENGINE"],
    reason="the SQLite test database is in memory with a shared cache: a second writer "
    "fails at once ('table is locked') instead of waiting as on a database file",
)
def test_two_workers_at_once_tell_once(world):
    from eventguard.alerts.models import Alarm
    from eventguard.telemetry.testing import elevator, ingest

    ingest(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    trapped = Alarm.objects.get(rule__code="lift-trapped")
    works = [_work(world, trapped) for _ in range(3)]
    later = timezone.now() + dt.timedelta(minutes=6)
    start = threading.Barrier(2)
    taken, errors = [], []

    def worker():
        try:
            start.wait()
            taken.append(services.work_orders_overdue(now=later))
        except Exception as exc:  # reported below: a worker must not fail
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(taken) == 3
    for work in works:
        assert WorkOrderEntry.objects.filter(work_order=work, action="overdue").count() == 1
    assert Notification.objects.filter(kind="work_order.overdue").count() == 2 * len(works)


def test_a_work_order_whose_notice_fails_does_not_hold_up_the_others(
    world, trapped, monkeypatch, caplog
):
    first, second = _work(world, trapped, minutes=4), _work(world, trapped, minutes=5)
    real_notify = services.work_order_overdue_notify

    def notify(*, work_order, now):
        if work_order.pk == first.pk:
            raise RuntimeError("the mail queue is full")
        return real_notify(work_order=work_order, now=now)

    monkeypatch.setattr(services, "work_order_overdue_notify", notify)
    later = timezone.now() + dt.timedelta(minutes=6)
    assert services.work_orders_overdue(now=later) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.overdue_notified_at is None  # nothing of the failed notice stays
    assert second.overdue_notified_at is not None
    assert f"overdue work order {first.pk} failed" in caplog.text
    # The next round tells the one that failed, once it can.
    monkeypatch.setattr(services, "work_order_overdue_notify", real_notify)
    assert services.work_orders_overdue(now=later) == 1
    first.refresh_from_db()
    assert first.overdue_notified_at is not None
