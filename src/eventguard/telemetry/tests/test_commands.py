"""The command line: `eventguard device ...` and `eventguard telemetry stats`."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from eventguard.core.testing import make_unit
from eventguard.telemetry.models import Device
from eventguard.telemetry.services import secret_matches, telemetry_ingest
from eventguard.telemetry.testing import inbound, ingest, make_device, temperature


def run(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.fixture
def warehouse(event):
    return make_unit(event, category="coldchain_warehouse")


def test_device_list_as_json(event, warehouse):
    heard, _secret = make_device(event, subject=warehouse, code="tl-heard")
    make_device(event, subject=warehouse, code="tl-silent")
    ingest(heard, temperature(1, -20))
    rows = json.loads(run("device", "list", "--event", event.code, "--format", "json"))
    by_code = {row["code"]: row for row in rows}
    assert set(by_code) == {"tl-heard", "tl-silent"}
    assert by_code["tl-heard"]["status"] == "online"
    assert by_code["tl-heard"]["last_seq"] == 1
    assert by_code["tl-silent"]["status"] == "never_seen"
    assert by_code["tl-heard"]["subject"] == f"core.unit:{warehouse.pk}"
    assert "secret" not in json.dumps(rows)
    online = json.loads(
        run("device", "list", "--event", event.code, "--format", "json", "--status", "online")
    )
    assert [row["code"] for row in online] == ["tl-heard"]
    assert "tl-heard" in run("device", "list", "--event", event.code)


def test_device_create_prints_the_secret_once_and_rotate_secret_replaces_it(event, warehouse):
    secret = run(
        "device",
        "create",
        "--event",
        event.code,
        "--code",
        "tl-new",
        "--kind",
        "temperature_logger",
        "--subject",
        f"core.unit:{warehouse.pk}",
    ).strip()
    device = Device.objects.get(code="tl-new")
    assert secret_matches(device, secret)
    new_secret = run("device", "rotate-secret", "--event", event.code, "--code", "tl-new").strip()
    device.refresh_from_db()
    assert secret_matches(device, new_secret) and not secret_matches(device, secret)
    run("device", "deactivate", "--event", event.code, "--code", "tl-new")
    device.refresh_from_db()
    assert device.is_active is False


def test_device_commands_refuse_what_does_not_exist(event, warehouse):
    with pytest.raises(CommandError):
        run("device", "list", "--event", "no-such-event")
    with pytest.raises(CommandError):
        run("device", "rotate-secret", "--event", event.code, "--code", "nobody")
    with pytest.raises(CommandError):
        run(
            "device",
            "create",
            "--event",
            event.code,
            "--code",
            "x",
            "--kind",
            "temperature_logger",
            "--subject",
            "core.unit:999999",
        )
    with pytest.raises(CommandError):
        run(
            "device",
            "create",
            "--event",
            event.code,
            "--code",
            "x",
            "--kind",
            "temperature_logger",
            "--subject",
            "not-a-key",
        )


def test_telemetry_stats_as_json(event, warehouse):
    device, _secret = make_device(event, subject=warehouse)
    payload = temperature(1, -20)
    ingest(device, payload, payload)
    telemetry_ingest(messages=[inbound(device, None, raw=b"junk")])
    stats = json.loads(
        run("telemetry", "stats", "--event", event.code, "--format", "json", "--exact")
    )
    assert stats["stored"] == stats["stored_exact"] == 1
    assert stats["duplicates"] == 1
    assert stats["dead_letters"] == {"total": 1, "by_reason": {"not_json": 1}}
    assert stats["devices"]["online"] == 1
    text = run("telemetry", "stats", "--event", event.code)
    assert "not_json" in text
