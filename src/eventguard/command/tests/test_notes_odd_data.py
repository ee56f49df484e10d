"""A stored system note is put into words even when it is old or odd: a parameter it lacks
reads as a dash, a malformed message falls back to what a person wrote, and the alarm page
never fails on it."""

from django.utils import translation

from eventguard.alerts import notes
from eventguard.alerts.models import AlarmEntry
from eventguard.core.testing import client_for


def _entry(stored, note="as written"):
    return AlarmEntry(
        action="escalated", actor_name="system", note=note, details={"message": stored}
    )


def test_a_message_missing_a_parameter_reads_with_a_dash():
    stored = {"key": "escalation.escalated", "params": {"level": 2, "target": "commander"}}
    with translation.override("en"):
        text = notes.render(stored)
    assert text.startswith("Escalated to level 2: ") and text.endswith("(—)")
    with translation.override("zh-hans"):
        assert notes.render(stored).startswith("已升级到第2级")


def test_odd_stored_messages_fall_back_to_the_note():
    with translation.override("en"):
        assert _entry({"key": ["escalation.escalated"], "params": {}}).text == "as written"
        assert _entry({"key": "no.such.note", "params": {}}).text == "as written"
        assert _entry("Level 1").text == "as written"
        assert _entry({"key": "escalation.escalated", "params": ["level", 2]}).text == (
            "Escalated to level —: — (—)"
        )


def test_the_alarm_page_shows_an_entry_with_a_broken_message(world, trapped):
    AlarmEntry.objects.create(
        alarm=trapped,
        action="escalated",
        at=trapped.first_at,
        actor_name="system",
        details={"message": {"key": "escalation.escalated", "params": "broken"}},
    )
    client = client_for(world.commander)
    response = client.get(f"/e/{world.event.code}/alarms/{trapped.pk}/")
    assert response.status_code == 200
    assert "Escalated to level —" in response.content.decode()
