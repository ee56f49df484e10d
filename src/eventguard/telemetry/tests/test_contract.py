"""The telemetry contract, message by message: what passes, and why the rest is refused."""

import datetime as dt

import pytest

from eventguard.telemetry.contract import Invalid, check

NOW = dt.datetime(2021, 11, 5, 10, 0, tzinfo=dt.UTC)
SKEW = dt.timedelta(seconds=300)


def ok(data):
    return check(data, now=NOW, max_skew=SKEW)


def refused(data) -> Invalid:
    with pytest.raises(Invalid) as info:
        ok(data)
    return info.value


def test_a_temperature_reading_with_an_iso_timestamp_passes():
    reading = ok(
        {"ts": "2021-11-05T17:59:00+08:00", "seq": 7, "kind": "temperature", "celsius": -19.5}
    )
    assert reading.seq == 7
    assert reading.ts == dt.datetime(2021, 11, 5, 9, 59, tzinfo=dt.UTC)
    assert reading.value == -19.5


def test_epoch_milliseconds_are_read_as_utc():
    ms = int(NOW.timestamp() * 1000) - 1500
    reading = ok({"ts": ms, "seq": 1, "kind": "temperature", "celsius": 2, "humidity": 55})
    assert reading.ts == NOW - dt.timedelta(milliseconds=1500)


def test_an_elevator_status_with_a_fault_code_passes():
    reading = ok(
        {
            "ts": "2021-11-05T10:00:00Z",
            "seq": 1,
            "kind": "elevator.status",
            "run_state": "stopped",
            "direction": "none",
            "door": "closed",
            "at_floor_level": False,
            "speed": 0,
            "floor": 12,
            "person_in_car": True,
            "fault": "trapped_away_from_floor",
        }
    )
    assert reading.data["fault"] == "trapped_away_from_floor"


def test_a_camera_detection_passes():
    assert (
        ok(
            {
                "ts": "2021-11-05T10:00:00Z",
                "seq": 3,
                "kind": "camera.event",
                "detection": "rodent",
                "confidence": 0.91,
            }
        ).value
        == 0.91
    )


@pytest.mark.parametrize(
    "data, reason, mentions",
    [
        ([1, 2], "not_json", "object"),
        ({"seq": 1, "kind": "temperature", "celsius": 1}, "invalid", "ts"),
        (
            {"ts": "2021-11-05T10:00:00", "seq": 1, "kind": "temperature", "celsius": 1},
            "invalid",
            "offset",
        ),
        ({"ts": "yesterday", "seq": 1, "kind": "temperature", "celsius": 1}, "invalid", "ts"),
        ({"ts": 5, "seq": 1, "kind": "temperature", "celsius": 1}, "invalid", "ts"),
        (
            {"ts": "2021-11-05T10:00:00Z", "seq": "1", "kind": "temperature", "celsius": 1},
            "invalid",
            "seq",
        ),
        (
            {"ts": "2021-11-05T10:00:00Z", "seq": True, "kind": "temperature", "celsius": 1},
            "invalid",
            "seq",
        ),
        (
            {"ts": "2021-11-05T10:00:00Z", "seq": -1, "kind": "temperature", "celsius": 1},
            "invalid",
            "seq",
        ),
        ({"ts": "2021-11-05T10:00:00Z", "seq": 1, "kind": "pressure"}, "invalid", "kind"),
        ({"ts": "2021-11-05T10:00:00Z", "seq": 1, "kind": "temperature"}, "invalid", "celsius"),
        (
            {"ts": "2021-11-05T10:00:00Z", "seq": 1, "kind": "temperature", "celsius": "-18"},
            "invalid",
            "celsius",
        ),
        (
            {"ts": "2021-11-05T10:00:00Z", "seq": 1, "kind": "temperature", "celsius": 500},
            "invalid",
            "celsius",
        ),
        (
            {"ts": "2021-11-05T10:00:00Z", "seq": 1, "kind": "elevator.status"},
            "invalid",
            "run_state",
        ),
        (
            {
                "ts": "2021-11-05T10:00:00Z",
                "seq": 1,
                "kind": "elevator.status",
                "run_state": "running",
                "fault": "exploded",
            },
            "invalid",
            "fault",
        ),
        (
            {
                "ts": "2021-11-05T10:00:00Z",
                "seq": 1,
                "kind": "elevator.status",
                "run_state": "running",
                "person_in_car": "yes",
            },
            "invalid",
            "person_in_car",
        ),
        (
            {
                "ts": "2021-11-05T10:00:00Z",
                "seq": 1,
                "kind": "camera.event",
                "detection": "rodent",
                "confidence": 1.5,
            },
            "invalid",
            "confidence",
        ),
        (
            {"ts": "2021-11-05T10:10:00Z", "seq": 1, "kind": "temperature", "celsius": 1},
            "future_timestamp",
            "ahead",
        ),
    ],
)
def test_a_message_that_breaks_the_contract_is_refused_with_its_reason(data, reason, mentions):
    invalid = refused(data)
    assert invalid.reason == reason
    assert mentions in invalid.detail


def test_a_timestamp_a_little_ahead_is_tolerated():
    assert ok({"ts": "2021-11-05T10:04:00Z", "seq": 1, "kind": "temperature", "celsius": 1})
