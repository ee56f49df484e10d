"""Both languages are complete: every string in the code has a Chinese translation.

The catalogues are regenerated from the code into a copy of the source tree, so a
string added without its translation fails here, not in front of a user.
"""

import gettext
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "eventguard"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} (Debian package gettext) is needed to check the translations")
    return path


def _entries(po_text: str) -> int:
    return sum(1 for line in po_text.splitlines() if line.startswith("msgid ")) - 1


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    _tool("xgettext")
    msgattrib = _tool("msgattrib")
    copy = tmp_path_factory.mktemp("src") / "eventguard"
    shutil.copytree(SOURCE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    env = dict(os.environ, EVENTGUARD_HOME=str(tmp_path_factory.mktemp("home")))
    # scripts/messages works on the tree it lives in; run its steps on the copy instead.
    script = (ROOT / "scripts" / "messages").read_text()
    script = script.replace('cd "$(dirname "$0")/../src/eventguard"', f'cd "{copy}"')
    result = subprocess.run(
        ["bash", "-c", script],
        env=dict(env, PATH=os.path.dirname(sys.executable) + ":" + env["PATH"]),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    catalogues = sorted(copy.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))
    return msgattrib, copy, catalogues


def test_every_app_has_a_catalogue(regenerated):
    _msgattrib, copy, catalogues = regenerated
    apps = sorted(p.parent.name for p in copy.glob("*/apps.py"))
    with_catalogue = {p.parents[3].name for p in catalogues}
    assert set(apps) <= with_catalogue


def test_every_string_is_translated_to_chinese(regenerated):
    msgattrib, copy, catalogues = regenerated
    problems = []
    for po in catalogues:
        untranslated = subprocess.run(
            [msgattrib, "--untranslated", "--no-obsolete", str(po)], capture_output=True, text=True
        ).stdout
        fuzzy = subprocess.run(
            [msgattrib, "--only-fuzzy", "--no-obsolete", str(po)], capture_output=True, text=True
        ).stdout
        for label, text in (("untranslated", untranslated), ("fuzzy", fuzzy)):
            if _entries(text) > 0:
                ids = [line for line in text.splitlines() if line.startswith("msgid ")][1:6]
                problems.append(f"{po.relative_to(copy)}: {_entries(text)} {label}, e.g. {ids}")
    assert not problems, "\n".join(problems)


def test_the_committed_catalogues_are_compiled(tmp_path):
    """A user sees what the compiled .mo says: it must match its .po."""
    msgfmt = _tool("msgfmt")
    catalogues = sorted(SOURCE.glob("**/locale/zh_Hans/LC_MESSAGES/django.po"))
    assert catalogues
    stale = []
    for po in catalogues:
        fresh = tmp_path / "fresh.mo"
        subprocess.run([msgfmt, "--check-format", "-o", str(fresh), str(po)], check=True)
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != fresh.read_bytes():
            stale.append(str(mo.relative_to(ROOT)))
    assert not stale, f"run scripts/messages: stale or missing {stale}"


def _translations(mo: Path) -> dict[tuple, tuple[str, ...]]:
    """What Django reads from a compiled catalogue: (context, msgid) -> its translations
    (one, or one per plural form); fuzzy entries are not compiled, the header is left out."""
    with mo.open("rb") as f:
        catalog = gettext.GNUTranslations(f)._catalog
    found: dict[tuple, dict[int, str]] = defaultdict(dict)
    for key, text in catalog.items():
        msgid, form = key if isinstance(key, tuple) else (key, 0)
        context, _sep, msgid = msgid.rpartition("\x04")
        if msgid and text:
            found[(context or None, msgid)][form] = text
    return {key: tuple(forms[n] for n in sorted(forms)) for key, forms in found.items()}


def test_a_string_has_one_meaning_across_the_catalogues():
    """Django merges every app's catalogue into one table, so two apps translating the
    same string differently make one of them win everywhere ("Cleared" of an alarm shown
    as a cold-chain box's "passed the test"). A string meaning different things in
    different domains carries a context (pgettext), one meaning everywhere else."""
    catalogues = sorted(SOURCE.glob("**/locale/zh_Hans/LC_MESSAGES/django.mo"))
    assert catalogues
    translations: dict[tuple, dict[tuple, list[str]]] = defaultdict(lambda: defaultdict(list))
    for mo in catalogues:
        app = mo.parents[3].name
        for key, msgstr in _translations(mo).items():
            translations[key][msgstr].append(app)
    collisions = []
    for (context, msgid), found in sorted(
        translations.items(), key=lambda i: (i[0][1], i[0][0] or "")
    ):
        if len(found) > 1:
            where = "; ".join(f"{' / '.join(t)} in {', '.join(apps)}" for t, apps in found.items())
            collisions.append(f"{msgid!r} (context {context!r}): {where}")
    assert not collisions, f"{len(collisions)} strings translated differently:\n" + "\n".join(
        collisions
    )


def test_each_domain_reads_its_own_meaning_in_chinese():
    """The labels that used to take another domain's translation, as list pages, the
    dashboard's alarm feed (both through choice_label) and the filters show them; in
    English and in Chinese in turn, as the per-language label tables are made."""
    from django.template import Context, Template
    from django.utils import translation

    from eventguard.alerts.models import Alarm
    from eventguard.coldchain.models import Box
    from eventguard.command.models import WorkOrder
    from eventguard.equipment.models import GuaranteeTest
    from eventguard.hazards.models import Hazard

    records = {
        "alarm state": (Alarm(state="cleared"), "state", "Cleared", "已消除"),
        "alarm severity": (Alarm(severity="major"), "severity", "Major", "重要"),
        "work order accepted": (WorkOrder(state="accepted"), "state", "Accepted", "已接单"),
        "work order returned": (WorkOrder(state="returned"), "state", "Returned", "已退回"),
        "box cleared": (Box(state="cleared"), "state", "Cleared", "检测合格"),
        "box released": (Box(state="released"), "state", "Released", "已出仓"),
        "box returned": (Box(disposal_outcome="returned"), "disposal_outcome", "Returned", "退运"),
        "hazard status": (Hazard(status="closed"), "status", "Closed", "已销号"),
        "hazard grade": (Hazard(grade="major"), "grade", "Major", "重大隐患"),
        "test result": (GuaranteeTest(result="failed"), "result", "Failed", "不合格"),
    }
    template = Template("{% load eventguard %}{{ record|choice_label:field }}")
    filters = Template(
        "{% load i18n %}"
        '{% translate "Open" context "alarm state" %}|'
        '{% translate "Open" context "work order state" %}|'
        '{% translate "Open" context "hazard status" %}|'
        '{% translate "Accept" context "work order" %}|'
        '{% translate "Received" context "dead letter" %}'
    )
    for language in ("en", "zh-hans", "en", "zh-hans"):
        with translation.override(language):
            shown = {
                name: template.render(Context({"record": record, "field": field}))
                for name, (record, field, _en, _zh) in records.items()
            }
            expected = {
                name: zh if language == "zh-hans" else en
                for name, (_record, _field, en, zh) in records.items()
            }
            assert shown == expected
            assert filters.render(Context()) == (
                "未关闭|未完成|未销号|接单|接收时间"
                if language == "zh-hans"
                else "Open|Open|Open|Accept|Received"
            )
