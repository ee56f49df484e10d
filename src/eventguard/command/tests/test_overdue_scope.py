"""The overdue notice reaches only commanders who may see the work order."""

import datetime as dt

from django.utils import timezone

from eventguard.command import services
from eventguard.command.models import Notification, WorkOrderEntry
from eventguard.core.access import VIEW, allows
from eventguard.core.testing import make_member


def test_a_commander_whose_assignment_leaves_out_the_domain_is_not_told(world, trapped):
    food_only = make_member(world.event, "commander", domains=["food"])
    work = services.work_order_dispatch(
        actor=world.commander,
        alarm=trapped,
        deadline=timezone.now() + dt.timedelta(minutes=5),
        instructions="free the passenger",
    )
    assert not allows(food_only, VIEW, work)

    assert services.work_orders_overdue(now=timezone.now() + dt.timedelta(minutes=6)) == 1
    told = {n.user for n in Notification.objects.filter(kind="work_order.overdue")}
    assert told == {world.post_a, world.commander}
    entry = WorkOrderEntry.objects.get(work_order=work, action="overdue")
    assert food_only.username not in entry.details["to"]
