"""Guarantee testing of key units: per round, per unit and per equipment, done and missing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from eventguard.core.figures import figures_report
from eventguard.core.testing import client_for, make_unit
from eventguard.equipment import selectors, services


@pytest.fixture
def rounds(world):
    return [
        services.guarantee_round_create(
            actor=None,
            event=world.event,
            code="pre",
            name_zh="展前",
            name_en="Before",
            phase="before",
            starts_on=dt.date(2021, 10, 11),
            ends_on=dt.date(2021, 11, 3),
        ),
        services.guarantee_round_create(
            actor=None,
            event=world.event,
            code="during",
            name_zh="展中",
            name_en="During",
            phase="during",
            starts_on=dt.date(2021, 11, 5),
            ends_on=dt.date(2021, 11, 10),
        ),
    ]


def test_a_units_page_shows_what_is_done_and_missing(world, rounds):
    pre, during = rounds
    services.guarantee_test_record(
        actor=world.supervisor,
        round=pre,
        unit=world.unit_a,
        tested_on=dt.date(2021, 10, 20),
        result="passed",
    )
    services.guarantee_test_record(
        actor=world.supervisor,
        round=pre,
        unit=world.unit_a,
        equipment=world.lift_a,
        tested_on=dt.date(2021, 10, 20),
        result="findings",
        findings="制动器磨损",
    )
    progress = selectors.key_unit_progress(
        user=world.supervisor, event=world.event, unit=world.unit_a
    )
    assert [(row["round"].code, row["done"]) for row in progress] == [
        ("pre", True),
        ("during", False),
    ]
    assert progress[1]["missing_equipment"] == [world.lift_a] and progress[1]["unit_test"] is None
    page = (
        client_for(world.supervisor)
        .get(reverse("equipment:key_unit_detail", args=[world.event.code, world.unit_a.pk]))
        .content.decode()
    )
    assert "制动器磨损" in page and world.lift_a.code in page


def test_refusals(world, rounds):
    pre, _during = rounds
    with pytest.raises(ValidationError) as exc:
        services.guarantee_test_record(
            actor=None,
            round=pre,
            unit=world.unit_a,
            tested_on=dt.date(2021, 11, 20),
            result="passed",
            tester_name="张伟",
        )
    assert "outside the round" in " ".join(exc.value.messages)
    with pytest.raises(ValidationError) as exc:
        services.guarantee_test_record(
            actor=None,
            round=pre,
            unit=world.unit_a,
            tested_on=dt.date(2021, 10, 20),
            result="failed",
            tester_name="张伟",
        )
    assert "findings" in " ".join(exc.value.messages)
    with pytest.raises(ValidationError) as exc:
        services.guarantee_test_record(
            actor=None,
            round=pre,
            unit=world.unit_a,
            equipment=world.lift_b,
            tested_on=dt.date(2021, 10, 20),
            result="passed",
            tester_name="张伟",
        )
    assert "not used by this unit" in " ".join(exc.value.messages)
    food = make_unit(world.event)
    with pytest.raises(ValidationError):
        services.guarantee_test_record(
            actor=None,
            round=pre,
            unit=food,
            tested_on=dt.date(2021, 10, 20),
            result="passed",
            tester_name="张伟",
        )
    services.guarantee_test_record(
        actor=None,
        round=pre,
        unit=world.unit_a,
        tested_on=dt.date(2021, 10, 20),
        result="passed",
        tester_name="张伟",
    )
    with pytest.raises(ValidationError):
        services.guarantee_test_record(
            actor=None,
            round=pre,
            unit=world.unit_a,
            tested_on=dt.date(2021, 10, 21),
            result="passed",
            tester_name="张伟",
        )


def test_key_units_inspected_counts_units_with_any_test(world, rounds):
    key = "equipment.key_units_inspected"
    assert figures_report(world.event, keys=[key])["figures"][key]["value"] == 0
    services.guarantee_test_record(
        actor=None,
        round=rounds[0],
        unit=world.unit_b,
        tested_on=dt.date(2021, 10, 20),
        result="passed",
        tester_name="李强",
    )
    report = figures_report(world.event, keys=[key])["figures"][key]
    assert report["value"] == 1
    page = client_for(world.supervisor).get(report["records_url"]).content.decode()
    assert world.unit_b.name_en in page and world.unit_a.name_en not in page
