"""The city-wide campaign: records since a date, totals, import all or nothing."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from eventguard.core.figures import figures_report
from eventguard.equipment import importers, services
from eventguard.equipment.models import CampaignRecord


@pytest.fixture
def campaign(world):
    return services.campaign_create(
        actor=None,
        event=world.event,
        code="city",
        name_zh="全市专项检查",
        since=dt.date(2021, 8, 1),
    )


def test_totals_count_the_records(world, campaign):
    services.campaign_record_save(
        actor=world.supervisor,
        campaign=campaign,
        district="青浦区",
        period_start=dt.date(2021, 8, 1),
        period_end=dt.date(2021, 8, 7),
        units_inspected=40,
        equipment_sets=70,
    )
    services.campaign_record_save(
        actor=world.supervisor,
        campaign=campaign,
        district="闵行区",
        period_start=dt.date(2021, 8, 1),
        period_end=dt.date(2021, 8, 7),
        units_inspected=7,
        equipment_sets=12,
    )
    keys = ["equipment.citywide_unit_inspections", "equipment.citywide_equipment_sets"]
    figures = figures_report(world.event, keys=keys)["figures"]
    assert [figures[k]["value"] for k in keys] == [47, 82]


def test_records_before_the_start_are_refused(world, campaign):
    with pytest.raises(ValidationError) as exc:
        services.campaign_record_save(
            actor=None,
            campaign=campaign,
            district="青浦区",
            period_start=dt.date(2021, 7, 25),
            period_end=dt.date(2021, 7, 31),
            units_inspected=1,
            equipment_sets=1,
        )
    assert "2021-08-01" in " ".join(exc.value.messages)


def test_import_is_all_or_nothing_and_corrects_known_rows(world, campaign):
    header = "Campaign code,District,From,To,Units inspected,Equipment sets inspected\n"
    good = "city,青浦区,2021-08-01,2021-08-07,40,70\n"
    bad = (
        header
        + good
        + "city,闵行区,2021-08-08,2021-08-01,5,9\ncity,浦东新区,2021-08-01,2021-08-07,-1,3\n"
    )
    result = importers.import_campaign_records(
        actor=world.supervisor,
        event=world.event,
        content=bad.encode(),
        filename="c.csv",
        dry_run=False,
    )
    assert not result.ok
    assert {(e.row, e.column) for e in result.errors} >= {(4, "units_inspected")}
    assert any(e.row == 3 for e in result.errors)
    assert not CampaignRecord.objects.exists()
    ok = importers.import_campaign_records(
        actor=world.supervisor,
        event=world.event,
        content=(header + good).encode(),
        filename="c.csv",
        dry_run=False,
    )
    assert ok.applied and ok.created == 1
    corrected = importers.import_campaign_records(
        actor=world.supervisor,
        event=world.event,
        content=(header + good.replace(",40,", ",41,")).encode(),
        filename="c.csv",
        dry_run=False,
    )
    assert corrected.updated == 1
    assert CampaignRecord.objects.get().units_inspected == 41
