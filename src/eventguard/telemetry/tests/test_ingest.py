"""The one ingest path: stored once, duplicates dropped, every refusal a dead letter."""

import base64
import datetime as dt
import json

import pytest
from django.utils import timezone

from eventguard.core.testing import make_event, make_unit
from eventguard.telemetry import services
from eventguard.telemetry.models import DeadLetter, Device, TelemetryMessage
from eventguard.telemetry.selectors import telemetry_stats
from eventguard.telemetry.testing import inbound, ingest, make_device, temperature


@pytest.fixture
def warehouse(event):
    return make_unit(event, category="coldchain_warehouse")


@pytest.fixture
def logger_(event, warehouse):
    return make_device(event, subject=warehouse, code="tl-room-1")[0]


def stored_seqs(device):
    return sorted(TelemetryMessage.objects.filter(device=device).values_list("seq", flat=True))


def test_messages_are_stored_and_the_device_shows_its_latest_reading(logger_):
    result = ingest(logger_, temperature(1, -20.5), temperature(2, -20.1, humidity=60))
    assert [o[0] for o in result.outcomes] == ["stored", "stored"]
    assert stored_seqs(logger_) == [1, 2]
    logger_.refresh_from_db()
    assert logger_.last_seq == 2
    assert logger_.latest["celsius"] == -20.1
    assert logger_.latest["humidity"] == 60
    assert logger_.last_seen_at is not None
    row = TelemetryMessage.objects.get(device=logger_, seq=1)
    assert row.value == -20.5 and row.kind == "temperature" and row.event_id == logger_.event_id


def test_a_redelivered_message_is_stored_once_and_counted_as_a_duplicate(logger_):
    payload = temperature(1, -20)
    ingest(logger_, payload)
    result = ingest(logger_, payload, dict(payload))
    assert [o[0] for o in result.outcomes] == ["duplicate", "duplicate"]
    assert stored_seqs(logger_) == [1]
    stats = telemetry_stats(logger_.event)
    assert stats["stored"] == 1
    assert stats["duplicates"] == 2
    assert stats["dead_letters"]["total"] == 0


def test_the_same_seq_twice_in_one_batch_is_stored_once(logger_):
    payload = temperature(5, -19)
    result = ingest(logger_, payload, payload)
    assert [o[0] for o in result.outcomes] == ["stored", "duplicate"]
    assert stored_seqs(logger_) == [5]


def test_a_seq_reused_with_other_content_is_a_replay_and_a_dead_letter(logger_):
    ingest(logger_, temperature(9, -20))
    result = ingest(logger_, temperature(9, 4.0))
    assert result.outcomes[0][:2] == ("dead_letter", "replayed_seq")
    assert TelemetryMessage.objects.get(device=logger_, seq=9).value == -20
    letter = DeadLetter.objects.get()
    assert letter.reason == "replayed_seq" and letter.device_code == "tl-room-1"
    assert '"celsius": 4.0' in letter.payload


def test_an_older_seq_not_yet_stored_is_kept_and_does_not_roll_back_the_latest_state(logger_):
    ingest(logger_, temperature(10, -21))
    ingest(logger_, temperature(8, -5))
    assert stored_seqs(logger_) == [8, 10]
    logger_.refresh_from_db()
    assert logger_.last_seq == 10 and logger_.latest["celsius"] == -21


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"\x89PNG not json", "not_json"),
        (b'{"ts": 1, "seq": ', "not_json"),
        (b'{"ts": NaN, "seq": 1, "kind": "temperature", "celsius": 1}', "not_json"),
        (b'"just a string"', "not_json"),
        (b'{"ts": "2021-11-05T10:00:00Z", "seq": "x", "kind": "temperature"}', "invalid"),
        (
            b'{"ts": "2021-11-05T10:00:00Z", "seq": 1, "kind": "temperature", "celsius": 1, '
            b'"note": "a\\u0000b"}',
            "invalid",
        ),
    ],
)
def test_malformed_payloads_become_dead_letters_with_their_reason(logger_, raw, reason):
    result = services.telemetry_ingest(messages=[inbound(logger_, None, raw=raw)])
    assert result.outcomes[0][:2] == ("dead_letter", reason)
    letter = DeadLetter.objects.get()
    assert letter.reason == reason and letter.source == "mqtt"
    assert letter.event_code == logger_.event.code
    assert TelemetryMessage.objects.count() == 0


def test_an_oversized_payload_is_refused_without_being_parsed(logger_, settings):
    settings.TELEMETRY_MAX_PAYLOAD_BYTES = 200
    big = json.dumps({**temperature(1, -20), "pad": "x" * 500}).encode()
    result = services.telemetry_ingest(messages=[inbound(logger_, None, raw=big)])
    assert result.outcomes[0][1] == "oversized"
    letter = DeadLetter.objects.get()
    assert letter.payload_bytes == len(big)


def test_a_timestamp_far_in_the_future_is_refused(logger_):
    ahead = timezone.now() + dt.timedelta(hours=2)
    result = ingest(logger_, temperature(1, -20, at=ahead))
    assert result.outcomes[0][1] == "future_timestamp"


def test_unknown_and_deactivated_devices_are_refused(event, logger_):
    stranger = services.Inbound(event.code, "nobody", body=json.dumps(temperature(1, 1)).encode())
    other_event = services.Inbound("no-such-event", logger_.code, body=b"{}")
    services.device_deactivate(actor=None, device=logger_)
    result = services.telemetry_ingest(
        messages=[stranger, other_event, inbound(logger_, temperature(1, -20))]
    )
    assert [o[1] for o in result.outcomes] == ["unknown_device", "invalid", "inactive_device"]
    assert set(DeadLetter.objects.values_list("reason", flat=True)) == {
        "unknown_device",
        "invalid",
        "inactive_device",
    }


def test_a_bad_message_does_not_keep_the_good_ones_of_its_batch_out(logger_):
    result = services.telemetry_ingest(
        messages=[
            inbound(logger_, temperature(1, -20)),
            inbound(logger_, None, raw=b"garbage"),
            inbound(logger_, temperature(2, -20)),
        ]
    )
    assert [o[0] for o in result.outcomes] == ["stored", "dead_letter", "stored"]
    assert stored_seqs(logger_) == [1, 2]


def test_devices_of_several_events_in_one_batch(logger_, warehouse):
    other = make_event()
    other_logger = make_device(other, subject=make_unit(other), code="tl-room-1")[0]
    services.telemetry_ingest(
        messages=[inbound(logger_, temperature(1, -20)), inbound(other_logger, temperature(1, -3))]
    )
    assert telemetry_stats(logger_.event)["stored"] == 1
    assert telemetry_stats(other)["stored"] == 1
    assert TelemetryMessage.objects.get(device=other_logger).event_id == other.pk


def test_stats_count_dead_letters_by_reason_and_devices_by_status(event, warehouse, logger_):
    make_device(event, subject=warehouse, code="never-heard")
    ingest(logger_, temperature(1, -20))
    services.telemetry_ingest(
        messages=[inbound(logger_, None, raw=b"x"), inbound(logger_, None, raw=b"y")]
    )
    stats = telemetry_stats(event, exact=True)
    assert stats["stored"] == stats["stored_exact"] == 1
    assert stats["dead_letters"] == {"total": 2, "by_reason": {"not_json": 2}}
    assert stats["devices"]["online"] == 1
    assert stats["devices"]["never_seen"] == 1


# ---------------------------------------------------------------- devices


def test_a_device_takes_its_scope_from_its_subject(event, warehouse, logger_):
    assert logger_.subject_type == "core.unit" and logger_.subject_id == warehouse.pk
    assert logger_.domain == "coldchain"
    assert logger_.unit_id == warehouse.pk
    assert logger_.subject_name == warehouse.name_zh


def test_a_device_cannot_report_on_a_subject_of_another_event(event):
    from django.core.exceptions import ValidationError

    foreign = make_unit(make_event())
    with pytest.raises(ValidationError) as info:
        make_device(event, subject=foreign)
    assert "another event" in str(info.value)
    assert not Device.objects.exists()


def test_device_ids_are_unique_in_an_event(event, warehouse, logger_):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        make_device(event, subject=warehouse, code="tl-room-1")


def test_the_secret_is_shown_once_and_stored_hashed(event, warehouse):
    device, secret = make_device(event, subject=warehouse)
    assert secret.startswith("egd_") and secret not in device.secret_digest
    assert services.secret_matches(device, secret)
    _device, new_secret = services.device_rotate_secret(actor=None, device=device)
    device.refresh_from_db()
    assert not services.secret_matches(device, secret)
    assert services.secret_matches(device, new_secret)


# ---------------------------------------------------------------- HTTP batch


def basic(device, secret) -> dict:
    token = base64.b64encode(f"{device.event.code}/{device.code}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post_batch(client, headers, body):
    return client.post(
        "/api/telemetry/batch",
        data=body if isinstance(body, bytes | str) else json.dumps(body),
        content_type="application/json",
        **headers,
    )


def test_a_device_posts_a_batch_over_http_and_learns_the_fate_of_each_message(
    client, event, warehouse
):
    device, secret = make_device(event, subject=warehouse)
    first = temperature(1, -20)
    body = [first, first, {"seq": 2}, temperature(3, -19)]
    response = post_batch(client, basic(device, secret), body)
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["stored"], data["duplicates"], data["dead_letters"]) == (2, 1, 1)
    assert [r["outcome"] for r in data["results"]] == [
        "stored",
        "duplicate",
        "dead_letter",
        "stored",
    ]
    assert data["results"][2]["reason"] == "invalid"
    assert DeadLetter.objects.get().source == "http"
    assert stored_seqs(device) == [1, 3]


def test_the_batch_endpoint_refuses_wrong_credentials(client, event, warehouse):
    device, secret = make_device(event, subject=warehouse)
    other, other_secret = make_device(event, subject=warehouse)
    for headers in (
        {},
        basic(device, "egd_wrong"),
        basic(device, other_secret),
        {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"no-slash:x").decode()},
    ):
        response = post_batch(client, headers, [temperature(1, -20)])
        assert response.status_code == 401
        assert response.json()["detail"]
    services.device_deactivate(actor=None, device=device)
    assert post_batch(client, basic(device, secret), [temperature(1, -20)]).status_code == 401
    assert TelemetryMessage.objects.count() == 0


def test_a_body_that_is_not_a_json_array_is_refused_and_kept(client, event, warehouse):
    device, secret = make_device(event, subject=warehouse)
    response = post_batch(client, basic(device, secret), b"not json at all")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert DeadLetter.objects.get().reason == "not_json"
    response = post_batch(client, basic(device, secret), {"seq": 1})
    assert response.status_code == 400


def test_a_device_cannot_write_for_another_device(client, event, warehouse):
    device, secret = make_device(event, subject=warehouse)
    other, _secret = make_device(event, subject=warehouse)
    # The payload has no say in which device it belongs to: the credentials decide.
    post_batch(client, basic(device, secret), [{**temperature(1, -20), "device": other.code}])
    assert stored_seqs(device) == [1]
    assert stored_seqs(other) == []


def test_payloads_with_escapes_whitespace_and_chinese_are_stored_exactly(logger_):
    data = {**temperature(1, -20), "note": 'quote " backslash \\ tab\t 冷库', "tags": ["a\nb"]}
    raw = json.dumps(data, indent="\t", ensure_ascii=False).replace("\n", "\r\n").encode()
    result = services.telemetry_ingest(messages=[inbound(logger_, None, raw=raw)])
    assert result.outcomes[0][0] == "stored"
    assert TelemetryMessage.objects.get(device=logger_, seq=1).payload == data
    logger_.refresh_from_db()
    assert logger_.latest["note"] == data["note"]


@pytest.mark.django_db(transaction=True)
def test_the_ingest_upkeep_vacuums_the_device_table_outside_any_transaction(logger_):
    from django.db import connection

    from eventguard.telemetry import tasks

    for seq in range(1, 11):  # ten batches: ten versions of the device's row
        services.telemetry_ingest(messages=[inbound(logger_, temperature(seq, -20))])
    tasks.ingest_upkeep()  # VACUUM refuses to run inside a transaction block
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'telemetry_device'"
            )
            assert cursor.fetchone()[0] is not None
    assert stored_seqs(logger_) == list(range(1, 11))


def test_a_batch_checked_without_the_database_finds_its_devices_when_stored(logger_):
    """The worker checks its next batch while the last one is written; a device it did not
    know yet is looked up by the store, not refused as unknown."""
    services.directory.clear()
    messages = [inbound(logger_, temperature(1, -20))]
    checked = services.telemetry_check(messages=messages, lookup=False)
    assert checked.unresolved == {(logger_.event.code, logger_.code)}
    result = services.telemetry_store(checked=checked)
    assert [o[0] for o in result.outcomes] == ["stored"]
    assert stored_seqs(logger_) == [1]


def test_what_runs_meanwhile_runs_once_when_the_batch_is_written_again_carefully(logger_):
    """A stored (device, seq) in the batch spoils the optimistic write; the batch is
    written again, one row at a time, and the worker's next batch is checked only once."""
    first = temperature(1, -20)
    ingest(logger_, first)
    calls = []
    messages = [inbound(logger_, first), inbound(logger_, temperature(2, -19))]
    checked = services.telemetry_check(messages=messages)
    result = services.telemetry_store(checked=checked, meanwhile=lambda: calls.append(1))
    assert [o[0] for o in result.outcomes] == ["duplicate", "stored"]
    assert calls == [1]
    logger_.refresh_from_db()
    assert logger_.last_seq == 2
