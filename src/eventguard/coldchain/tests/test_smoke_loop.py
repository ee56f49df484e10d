from eventguard.coldchain.models import BoxState, EpcisEvent
from eventguard.coldchain.testing import advance, declare_boxes


def test_loop(site, consignment):
    boxes = declare_boxes(consignment, 3)
    boxes = advance(site, boxes, BoxState.ENTERED_VENUE)
    assert {b.state for b in boxes} == {BoxState.ENTERED_VENUE}
    assert EpcisEvent.objects.count() > 5
