"""What the system writes on timelines and in the feed is stored as a message key and put
into words in each reader's language: the alarm and work-order pages, the API, the feed and
its server-sent events. Notes people write are shown as they were written."""

import datetime as dt

from asgiref.sync import async_to_sync
from django.utils import timezone

from eventguard.alerts.models import AlarmEntry
from eventguard.alerts.services import alarm_timeline_add
from eventguard.command import services
from eventguard.command.models import Notification
from eventguard.core.services import person_update
from eventguard.core.testing import api_client_for, client_for, make_member


def _readers(world):
    """Two commanders of the same event: one reads Chinese, the other English."""
    chinese = make_member(world.event, "commander")
    person_update(actor=None, user=chinese, language="zh-hans")
    return chinese, world.commander


def _escalate(world, trapped):
    services.escalations_due(now=timezone.now() + dt.timedelta(minutes=3))
    return trapped.entries.filter(action="escalated").get()


def test_an_escalation_entry_reads_in_each_readers_language(world, trapped):
    chinese, english = _readers(world)
    entry = _escalate(world, trapped)
    assert entry.note == ""  # nothing stored in the server's language
    path = f"/e/{world.event.code}/alarms/{trapped.pk}/"
    zh_page = client_for(chinese).get(path).content.decode()
    en_page = client_for(english).get(path).content.decode()
    people = world.sup_a.username
    assert f"已升级到第2级：区域监管人员（{people}）" in zh_page
    assert f"Escalated to level 2: Zone supervisor ({people})" in en_page
    assert "Escalated to level 2" not in zh_page and "已升级" not in en_page

    for person, language, expected in (
        (chinese, "zh-hans", f"已升级到第2级：区域监管人员（{people}）"),
        (english, "en", f"Escalated to level 2: Zone supervisor ({people})"),
    ):
        client, headers = api_client_for(person)
        detail = client.get(
            f"/api/alarms/{trapped.pk}", HTTP_ACCEPT_LANGUAGE=language, **headers
        ).json()
        [row] = [e for e in detail["timeline"] if e["action"] == "escalated"]
        assert row["note"] == expected
        assert row["details"]["message"]["key"] == "escalation.escalated"


def test_a_clear_by_itself_and_a_persons_note_in_both_languages(world, trapped, report):
    from eventguard.telemetry.testing import elevator

    chinese, english = _readers(world)
    alarm_timeline_add(
        alarm=trapped,
        action=AlarmEntry.Action.COMMENTED,
        actor=english,
        note="Level 2: Zone supervisor",  # written by a person: shown as written
    )
    report(world.device_a, elevator(2))  # the fault ends: the alarm clears by itself
    trapped.refresh_from_db()
    assert trapped.state == "cleared" and trapped.cleared_automatically
    path = f"/e/{world.event.code}/alarms/{trapped.pk}/"
    zh_page = client_for(chinese).get(path).content.decode()
    en_page = client_for(english).get(path).content.decode()
    assert "条件结束，已自动消除。" in zh_page
    assert "Cleared by itself: the condition ended." in en_page
    assert zh_page.count("Level 2: Zone supervisor") == 1
    assert en_page.count("Level 2: Zone supervisor") == 1


def test_an_overdue_entry_reads_in_each_readers_language(world, trapped):
    chinese, english = _readers(world)
    work = services.work_order_dispatch(
        actor=english, alarm=trapped, deadline=timezone.now() + dt.timedelta(minutes=5)
    )
    services.work_orders_overdue(now=timezone.now() + dt.timedelta(minutes=6))
    path = f"/e/{world.event.code}/work-orders/{work.pk}/"
    zh_page = client_for(chinese).get(path).content.decode()
    en_page = client_for(english).get(path).content.decode()
    assert "已超过期限（" in zh_page and "仍为已派单；已通知：" in zh_page
    assert "Past its deadline (" in en_page and "still Dispatched; told:" in en_page
    assert "Past its deadline" not in zh_page


def _read(response) -> str:
    async def collect():
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)().decode()


def test_the_feed_reads_in_each_readers_language(world, trapped, monkeypatch):
    from eventguard.command import views

    chinese, english = _readers(world)
    _escalate(world, trapped)
    services.escalations_due(now=timezone.now() + dt.timedelta(minutes=10))  # the commanders
    assert Notification.objects.filter(user=chinese, kind="alarm.escalated").exists()
    monkeypatch.setattr(views, "FEED_SECONDS", 0.1)
    stream = f"/e/{world.event.code}/feed/stream/"
    zh_events = _read(client_for(chinese).get(stream))
    en_events = _read(client_for(english).get(stream))
    assert "紧急告警：电梯困人 · " in zh_events
    assert "Critical alarm: Passenger trapped in a lift · " in en_events
    assert "Passenger trapped" not in zh_events
    zh_page = client_for(chinese).get(f"/e/{world.event.code}/feed/").content.decode()
    assert "紧急告警：电梯困人 · " in zh_page
    for person, language, expected in (
        (chinese, "zh-hans", "紧急告警：电梯困人 · "),
        (english, "en", "Critical alarm: Passenger trapped in a lift · "),
    ):
        client, headers = api_client_for(person)
        feed = client.get(
            f"/api/notifications?event={world.event.code}",
            HTTP_ACCEPT_LANGUAGE=language,
            **headers,
        ).json()
        assert feed and all(n["title"].startswith(expected) for n in feed)
