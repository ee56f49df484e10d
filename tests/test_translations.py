"""Both languages are complete: every string in the code has a Chinese translation.

The catalogues are regenerated from the code into a copy of the source tree, so a
string added without its translation fails here, not in front of a user.
"""

import os
import shutil
import subprocess
import sys
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
