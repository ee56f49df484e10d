"""The Simplified Chinese catalogue of unified command is complete and in use."""

import re
from pathlib import Path

from django.utils import translation

PO = Path(__file__).resolve().parents[1] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_is_translated_and_none_is_fuzzy():
    text = PO.read_text("utf-8")
    entries = text.split("\n\n")[1:]
    assert entries
    for entry in entries:
        assert "fuzzy" not in entry, entry
        # An empty msgstr is one with no continuation line (long ones are wrapped).
        assert not re.search(r'^msgstr(\[\d+\])? ""\n(?!")', entry + "\n", re.M), entry


def test_pages_speak_chinese(world, trapped):
    from eventguard.core.testing import client_for

    with translation.override("zh-hans"):
        assert translation.gettext("Command dashboard") == "指挥大屏"
    world.commander.language = "zh-hans"
    world.commander.save(update_fields=["language"])
    page = client_for(world.commander).get(
        f"/e/{world.event.code}/command/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "指挥大屏" in page.content.decode()
