"""An alarm's assignee and comments from its page: on the timeline, refused by name."""

from eventguard.alerts.models import Alarm
from eventguard.core.testing import client_for
from eventguard.telemetry.testing import elevator, ingest


def _alarm(world):
    ingest(world.lift_a, elevator(1, fault="trapped_away_from_floor"))
    return Alarm.objects.get(rule__code="lift-trapped")


def test_assign_and_comment_from_the_alarm_page(world):
    alarm = _alarm(world)
    client = client_for(world.commander)
    url = f"/e/{world.event.code}/alarms/{alarm.pk}/"
    page = client.get(url).content.decode()
    assert 'name="assign-assignee"' in page and 'name="comment-text"' in page
    client.post(url + "assign/", {"assign-assignee": world.post_a.username})
    client.post(url + "comment/", {"comment-text": "Crew on the way"})
    alarm.refresh_from_db()
    assert alarm.assignee == world.post_a
    page = client.get(url).content.decode()
    assert "Assigned" in page and "Crew on the way" in page


def test_refusals_are_shown_and_nothing_changes(world):
    alarm = _alarm(world)
    client = client_for(world.commander)
    url = f"/e/{world.event.code}/alarms/{alarm.pk}/"
    r = client.post(url + "assign/", {"assign-assignee": "nobody"}, follow=True)
    assert "holds no role in this event" in r.content.decode()
    r = client.post(url + "comment/", {"comment-text": "  "}, follow=True)
    assert "cannot be empty" in r.content.decode()
    alarm.refresh_from_db()
    assert alarm.assignee is None
    assert not alarm.entries.filter(action__in=["assigned", "commented"]).exists()
    auditor = client_for(world.auditor)
    assert 'name="comment-text"' not in auditor.get(url).content.decode()
    r = auditor.post(url + "comment/", {"comment-text": "hello"}, follow=True)
    assert not alarm.entries.filter(action="commented").exists()
