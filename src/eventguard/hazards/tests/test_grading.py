"""LEC risk grading: D = L x E x C from the method's tables, bands stored per event."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from eventguard.core.figures import figures_report
from eventguard.core.testing import make_event
from eventguard.hazards import selectors, services
from eventguard.hazards.models import RiskGrade, RiskGrading, RiskPoint


def point(w, code, l_value, e_value, c_value, **fields):
    defaults = {
        "title": f"风险点{code}",
        "hazard_description": "扶梯逆转",
        "equipment": w.lift_a,
        "control_measures": "限流疏导",
        "responsible_person": w.operator_a,
    }
    defaults.update(fields)
    return services.risk_point_create(
        actor=None,
        event=w.event,
        code=code,
        likelihood=Decimal(l_value),
        exposure=Decimal(e_value),
        consequence=Decimal(c_value),
        **defaults,
    )


@pytest.mark.parametrize(
    ("lec", "score", "grade"),
    [
        (("10", "6", "3"), "180", RiskGrade.RED),  # D > 160
        (("1", "10", "15"), "150", RiskGrade.ORANGE),
        (("1", "2", "40"), "80", RiskGrade.ORANGE),
        (("1", "10", "7"), "70", RiskGrade.ORANGE),  # 70 itself is orange
        (("3", "3", "7"), "63", RiskGrade.YELLOW),
        (("0.5", "6", "7"), "21", RiskGrade.YELLOW),
        (("0.5", "1", "40"), "20", RiskGrade.YELLOW),  # 20 itself is yellow
        (("1", "6", "3"), "18", RiskGrade.BLUE),
        (("0.1", "0.5", "1"), "0.05", RiskGrade.BLUE),
    ],
)
def test_default_bands(world, lec, score, grade):
    rp = point(world, "p", *lec)
    assert rp.score == Decimal(score)
    assert rp.grade == grade


def test_d_of_exactly_160_is_orange_and_above_is_red(world):
    assert point(world, "a", "1", "10", "15").grade == RiskGrade.ORANGE  # 150
    grading = services.risk_grading_set(
        actor=None,
        event=world.event,
        red_above=Decimal("150"),
        orange_from=Decimal("70"),
        yellow_from=Decimal("20"),
    )
    assert grading.grade_for(Decimal("160")) == RiskGrade.RED
    assert grading.grade_for(Decimal("150")) == RiskGrade.ORANGE


def test_a_changed_configuration_grades_every_point_again(world):
    a = point(world, "a", "3", "6", "7")  # 126: orange
    b = point(world, "b", "1", "6", "7")  # 42: yellow
    c = point(world, "c", "1", "6", "3")  # 18: blue
    other_event = make_event()
    services.risk_grading_set(
        actor=world.supervisor,
        event=world.event,
        red_above=Decimal("100"),
        orange_from=Decimal("40"),
        yellow_from=Decimal("10"),
    )
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert (a.grade, b.grade, c.grade) == (RiskGrade.RED, RiskGrade.ORANGE, RiskGrade.YELLOW)
    # New points follow the new bands; another event keeps the defaults.
    assert point(world, "d", "1", "2", "7").grade == RiskGrade.YELLOW  # 14 >= 10
    assert services.grading_of(other_event).red_above == Decimal("160")
    assert RiskGrading.objects.filter(event=other_event).count() == 0
    matrix = selectors.risk_matrix(user=world.supervisor, event=world.event)
    assert dict((g, n) for g, _label, n in matrix["totals"]) == {
        "red": 1,
        "orange": 1,
        "yellow": 2,
        "blue": 0,
    }


def test_bands_out_of_order_are_refused(world):
    with pytest.raises(ValidationError):
        services.risk_grading_set(
            actor=None,
            event=world.event,
            red_above=Decimal("50"),
            orange_from=Decimal("70"),
            yellow_from=Decimal("20"),
        )
    with pytest.raises(ValidationError):
        services.risk_grading_set(
            actor=None,
            event=world.event,
            red_above=Decimal("160"),
            orange_from=Decimal("20"),
            yellow_from=Decimal("20"),
        )
    assert not RiskGrading.objects.filter(event=world.event).exists()


def test_a_unit_operator_may_not_change_the_bands(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.risk_grading_set(
            actor=world.operator_a,
            event=world.event,
            red_above=Decimal("1"),
            orange_from=Decimal("0.5"),
            yellow_from=Decimal("0.1"),
        )


def test_values_outside_the_tables_are_refused_by_the_service_and_the_database(world):
    with pytest.raises(ValidationError) as exc:
        point(world, "x", "4", "6", "7")
    assert "likelihood" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        point(world, "y", "3", "6", "8")
    assert "consequence" in exc.value.error_dict
    good = point(world, "z", "3", "6", "7")
    with pytest.raises(IntegrityError), transaction.atomic():
        RiskPoint.objects.filter(pk=good.pk).update(exposure=Decimal("4"))


def test_updating_l_e_or_c_recomputes_score_and_grade(world):
    rp = point(world, "a", "1", "6", "3")
    rp = services.risk_point_update(actor=world.supervisor, risk_point=rp, likelihood="10")
    assert (rp.score, rp.grade) == (Decimal("180"), RiskGrade.RED)


def test_owner_and_measure_figures_count_only_complete_equipment_points(world):
    point(world, "a", "3", "6", "7")
    point(world, "b", "3", "6", "7", control_measures="")
    point(world, "c", "3", "6", "7", responsible_person=None)
    point(world, "d", "3", "6", "7", domain="food", equipment=None)
    figures = figures_report(
        world.event,
        keys=["equipment.risks_identified", "equipment.risks_with_owner_and_measure"],
    )["figures"]
    assert figures["equipment.risks_identified"]["value"] == 3
    assert figures["equipment.risks_with_owner_and_measure"]["value"] == 1
    owned = selectors.risk_point_list(
        user=world.supervisor,
        event=world.event,
        filters=selectors.RiskPointFilters(domain="equipment", is_active=True, owned=True),
    )
    assert [p.code for p in owned] == ["a"]


def test_the_colour_map_takes_the_worst_grade_of_each_zone(world):
    point(world, "a", "1", "6", "3")  # blue, zone A
    point(world, "b", "3", "6", "7")  # orange, zone A
    halls = selectors.venue_colour_map(user=world.supervisor, event=world.event)
    zones = {z["zone"].pk: z for h in halls for z in h["zones"]}
    assert zones[world.zone_a.pk]["grade"] == RiskGrade.ORANGE
    assert zones[world.zone_a.pk]["points"] == 2
    assert zones[world.zone_b.pk]["grade"] is None
    hall = next(h for h in halls if h["hall"].pk == world.hall_a.pk)
    assert hall["grade"] == RiskGrade.ORANGE
