"""The box state machine: every transition the table does not allow is refused, every
missing precondition is named, and every step is recorded on the box's timeline."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from eventguard.coldchain import services, workflow
from eventguard.coldchain.models import (
    Box,
    BoxState,
    BoxTransition,
    EpcisEvent,
    NatSample,
)
from eventguard.coldchain.testing import advance, at, declare_boxes, record_results
from eventguard.coldchain.workflow import TRANSITIONS, StepParams
from eventguard.core.models import AuditEntry

S = BoxState

# Every state a box can be in, and every step that can be applied to an existing box.
STATES = [s.value for s in BoxState]
STEPS = [name for name in TRANSITIONS if name != "declare"]
ILLEGAL = [
    (state, step) for state in STATES for step in STEPS if state not in TRANSITIONS[step].sources
]


def test_the_table_covers_the_loop():
    """Each state but the two ends has a way out, and every transition lands on a state."""
    sources = {s for t in TRANSITIONS.values() for s in t.sources}
    assert sources == set(STATES) - {S.ENTERED_VENUE, S.DISPOSED}
    assert {t.target for t in TRANSITIONS.values()} == set(STATES)


@pytest.fixture
def box_in(site, consignment):
    """A box brought through the services to a given state."""

    def make(state):
        (box,) = declare_boxes(consignment, 1)
        (box,) = advance(site, [box], state)
        assert box.state == state
        return box

    return make


@pytest.mark.parametrize(("state", "step"), ILLEGAL)
def test_every_illegal_transition_is_refused(box_in, state, step):
    box = box_in(state)
    params = StepParams(batch=None, certificate_no="EX-1", outcome="destroyed", reason="test")
    steps_before = BoxTransition.objects.filter(box=box).count()
    with pytest.raises(ValidationError) as refused:
        services.box_transition(actor=None, boxes=[box], transition=step, params=params)
    message = " ".join(refused.value.messages)
    assert f"box {box.code}" in message
    assert str(S(state).label) in message  # names the state the box is in
    box.refresh_from_db()
    assert box.state == state
    assert BoxTransition.objects.filter(box=box).count() == steps_before


def test_declare_cannot_be_applied_to_a_box(box_in):
    box = box_in(S.DECLARED)
    with pytest.raises(ValidationError):
        services.box_transition(actor=None, boxes=[box], transition="declare")


@pytest.mark.parametrize(
    ("state", "step", "missing"),
    [
        (S.PORT_RELEASED, "receive", "warehouse batch missing"),
        (S.IN_WAREHOUSE, "disinfect", "outer-carton disinfection missing"),
        (S.IN_WAREHOUSE, "disinfect", "smallest-package disinfection missing"),
        (S.DISINFECTED, "sample", "outer-carton NAT sample missing"),
        (S.DISINFECTED, "sample", "smallest-package NAT sample missing"),
        (S.SAMPLED, "clear", "outer-carton NAT result missing"),
        (S.SAMPLED, "clear", "smallest-package NAT result missing"),
        (S.SAMPLED, "quarantine", "no positive NAT result"),
        (S.CLEARED, "release", "warehouse-exit certificate missing"),
        (S.RELEASED, "depart", "transport (vehicle and departure) missing"),
        (S.QUARANTINED, "dispose", "disposal reason missing"),
    ],
)
def test_a_missing_precondition_is_named(box_in, state, step, missing):
    box = box_in(state)
    params = StepParams(outcome="destroyed") if step == "dispose" else StepParams()
    with pytest.raises(ValidationError) as refused:
        services.box_transition(actor=None, boxes=[box], transition=step, params=params)
    assert f"box {box.code}: {missing}" in refused.value.messages


def test_port_release_needs_the_inspection_certificate(site, consignment):
    boxes = declare_boxes(consignment, 2)
    with pytest.raises(ValidationError) as refused:
        services.consignment_port_release(actor=None, consignment=consignment, iq_certificate_no="")
    assert f"box {boxes[0].code}: inspection-and-quarantine certificate missing" in (
        refused.value.messages
    )


def test_a_positive_result_blocks_clearance_by_name(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.SAMPLED)
    samples = NatSample.objects.filter(box=box)
    outer = samples.get(surface="outer_carton")
    services.nat_results_record_bulk(
        actor=None,
        event=site.event,
        rows=[
            services.ResultRow(
                row=2, sample_code=outer.sample_code, result="positive", reported_at=at(22)
            )
        ],
    )
    box.refresh_from_db()
    assert box.state == S.QUARANTINED  # one positive result is enough to quarantine
    with pytest.raises(ValidationError) as refused:
        services.box_transition(actor=None, boxes=[box], transition="clear")
    assert "Quarantined" in " ".join(refused.value.messages)


def test_results_wait_for_both_surfaces(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.SAMPLED)
    outer = NatSample.objects.get(box=box, surface="outer_carton")
    outcome = services.nat_results_record_bulk(
        actor=None,
        event=site.event,
        rows=[
            services.ResultRow(
                row=2, sample_code=outer.sample_code, result="negative", reported_at=at(22)
            )
        ],
    )
    assert [b.code for b in outcome.pending] == [box.code]
    box.refresh_from_db()
    assert box.state == S.SAMPLED
    assert workflow.explain(box)[-1] == f"box {box.code}: smallest-package NAT result missing"


def test_the_whole_loop_is_on_the_timeline(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.ENTERED_VENUE, actor=site.staff)
    steps = list(BoxTransition.objects.filter(box=box).order_by("at", "pk"))
    assert [s.to_state for s in steps] == [
        S.DECLARED,
        S.PORT_RELEASED,
        S.IN_WAREHOUSE,
        S.DISINFECTED,
        S.SAMPLED,
        S.CLEARED,
        S.RELEASED,
        S.IN_TRANSIT,
        S.ENTERED_VENUE,
    ]
    # actor, time and place of every step
    assert all(s.at for s in steps)
    assert steps[1].place == consignment.port_of_entry
    assert steps[2].place == site.warehouse.name
    assert steps[-1].place == site.event.name
    assert {s.actor_name for s in steps[1:]} == {site.staff.username}
    # each step is an EPCIS event naming the box, and each is audited
    assert all(s.epcis_event_id for s in steps)
    assert EpcisEvent.objects.filter(identifiers__key=box.epc).count() == len(steps)
    actions = set(
        AuditEntry.objects.filter(object_type="coldchain.box", object_id=str(box.pk)).values_list(
            "action", flat=True
        )
    )
    loop = [t for t in TRANSITIONS if t not in ("quarantine", "dispose")]
    assert {f"coldchain.box.{t}" for t in loop} <= actions


def test_quarantine_then_disposal_with_reason(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.DISPOSED)
    assert box.disposal_outcome == "destroyed"
    assert box.disposal_reason == "NAT positive"
    event = EpcisEvent.objects.filter(identifiers__key=box.epc).latest("event_time")
    assert (event.biz_step, event.disposition) == ("destroying", "destroyed")


def test_returned_disposal_is_written_as_shipping_returned(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.QUARANTINED)
    services.box_dispose(actor=None, box=box, outcome="returned", reason="Back to the exporter")
    event = EpcisEvent.objects.filter(identifiers__key=box.epc).latest("event_time")
    assert (event.biz_step, event.disposition) == ("shipping", "returned")


def test_one_refused_box_refuses_the_whole_bulk_step(site, consignment):
    boxes = advance(site, declare_boxes(consignment, 3), S.CLEARED)
    (laggard,) = advance(site, declare_boxes(consignment, 1), S.SAMPLED)
    with pytest.raises(ValidationError) as refused:
        services.box_release_bulk(actor=None, boxes=[*boxes, laggard], certificate_no="EX-9")
    assert len(refused.value.messages) == 1
    assert laggard.code in refused.value.messages[0]
    states = Box.objects.filter(pk__in=[b.pk for b in boxes]).values_list("state", flat=True)
    assert set(states) == {S.CLEARED}


def test_a_box_changed_meanwhile_is_not_moved_twice(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.CLEARED)
    stale = Box.objects.get(pk=box.pk)
    services.box_release_bulk(actor=None, boxes=[box], certificate_no="EX-1")
    stale.consignment = box.consignment
    with pytest.raises(ValidationError):
        workflow.apply(
            actor=None,
            boxes=[stale],
            transition="release",
            params=StepParams(certificate_no="EX-2"),
        )
    box.refresh_from_db()
    assert box.exit_certificate_no == "EX-1"


def test_exhibitors_may_not_run_the_loop(site, consignment):
    (box,) = declare_boxes(consignment, 1, actor=site.exhibitor_user)
    with pytest.raises(PermissionDenied):
        services.consignment_port_release(
            actor=site.exhibitor_user, consignment=consignment, iq_certificate_no="IQ-1"
        )
    box.refresh_from_db()
    assert box.state == S.DECLARED


def test_database_refuses_a_released_box_without_certificate(site, consignment):
    from django.db import IntegrityError, transaction

    (box,) = declare_boxes(consignment, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Box.objects.filter(pk=box.pk).update(state=S.RELEASED)


def test_sampling_twice_is_refused(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.DISINFECTED)
    services.sample_take_bulk(
        actor=None,
        boxes=[box],
        laboratory=site.laboratory,
        sampled_at=at(21, 14),
        surfaces=["outer_carton"],
    )
    with pytest.raises(ValidationError) as refused:
        services.sample_take_bulk(
            actor=None,
            boxes=[box],
            laboratory=site.laboratory,
            sampled_at=at(21, 15),
            surfaces=["outer_carton"],
        )
    assert "already been sampled" in " ".join(refused.value.messages)
    box.refresh_from_db()
    assert box.state == S.DISINFECTED


def test_results_for_unknown_or_repeated_samples_are_refused_by_row(site, consignment):
    (box,) = advance(site, declare_boxes(consignment, 1), S.SAMPLED)
    code = NatSample.objects.filter(box=box).first().sample_code
    rows = [
        services.ResultRow(row=2, sample_code=code, result="negative", reported_at=at(22)),
        services.ResultRow(row=3, sample_code=code, result="negative", reported_at=at(22)),
        services.ResultRow(row=4, sample_code="NOPE-1", result="negative", reported_at=at(22)),
        services.ResultRow(row=5, sample_code=code, result="maybe", reported_at=at(10)),
    ]
    with pytest.raises(services.RowsRefused) as refused:
        services.nat_results_record_bulk(actor=None, event=site.event, rows=rows)
    assert {e.row for e in refused.value.rows} == {3, 4, 5}
    assert not NatSample.objects.filter(box=box).exclude(result="").exists()
    record_results(site, [box])
    box.refresh_from_db()
    assert box.state == S.CLEARED
