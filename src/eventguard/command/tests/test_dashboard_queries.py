"""The dashboard's live data costs the same number of queries however large the venue (with
the halls' layout or without); its figures read the boxes once and are shared by everyone
for a few seconds, in every server process, and no poll waits for them (bench/pages.py
measures the pages under load).

A server process of its own is played here by emptying this process's cache: what the
figures' row in the database holds is all that another process would find."""

import datetime as dt
import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from eventguard.command import dashboard
from eventguard.command.models import DashboardFigures
from eventguard.core.testing import client_for
from eventguard.equipment.testing import make_equipment

BOXES_READ = 'MIN("coldchain_box"."received_at")'  # the cold-chain figures' one query


def live(world, query=""):
    return f"/e/{world.event.code}/command/live/{query}"


def another_process():
    cache.clear()


def figures_aged(seconds: float) -> None:
    """The figures of every event as if computed ``seconds`` earlier than they were."""
    for row in DashboardFigures.objects.all():
        row.computed_at -= dt.timedelta(seconds=seconds)
        row.save(update_fields=["computed_at"])
    another_process()  # this process's copy would have gone too


def join_refreshes() -> None:
    for thread in threading.enumerate():
        if thread.name == "dashboard-refresh":
            thread.join(10)


def read(client, url) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response.json(), [q["sql"] for q in captured.captured_queries]


def test_the_live_data_takes_as_many_queries_for_thirty_lifts_as_for_two(world, trapped):
    client = client_for(world.commander)
    client.get(live(world, "?figures=0"))  # the session and the rulebook read once

    def polls() -> tuple[dict, list[str], dict, list[str]]:
        """A dashboard opening in a process that keeps no layout nor version (they are read),
        then its next poll (both kept)."""
        another_process()
        opening, opening_sql = read(client, live(world, "?figures=0&layout=1"))
        then, then_sql = read(client, live(world, f"?figures=0&layout={opening['layout_version']}"))
        return opening, opening_sql, then, then_sql

    _opening, opening_before, _then, then_before = polls()
    for _ in range(30):
        make_equipment(world.event, zone=world.zone_b, user_unit=world.unit_b)
    opening, opening_after, then, then_after = polls()
    assert len(opening_after) == len(opening_before)
    assert len(then_after) == len(then_before) < len(opening_after)
    assert len([e for h in opening["layout"] for e in h["equipment"]]) == 32
    assert then["layout"] is None and then["statuses"] == {str(world.lift_a.pk): "fault"}


def test_the_figures_and_the_funnel_read_the_boxes_once_and_are_shared(world):
    data, sql = read(client_for(world.commander), live(world))
    assert len([q for q in sql if BOXES_READ in q]) == 1
    assert {f["key"] for f in data["figures"]} >= {"coldchain.boxes_received"}
    # A second person within the window gets the same figures without reading them again,
    # from this process's copy or, served by another process, from the database's.
    again, sql = read(client_for(world.sup_a), live(world))
    assert not [q for q in sql if BOXES_READ in q]
    assert again["figures"] == data["figures"] and again["figures_at"] == data["figures_at"]
    another_process()
    again, sql = read(client_for(world.sup_a), live(world))
    assert not [q for q in sql if BOXES_READ in q]
    assert again["figures"] == data["figures"] and again["figures_at"] == data["figures_at"]
    # Once nobody has asked for a minute they are not served: the next poll computes them.
    figures_aged(61)
    _data, sql = read(client_for(world.sup_a), live(world))
    assert len([q for q in sql if BOXES_READ in q]) == 1


def test_a_supervisor_sees_only_the_lifts_of_their_hall_and_their_faults(world, trapped):
    data, _sql = read(client_for(world.sup_b), live(world, "?figures=0&layout=1"))
    assert [e["id"] for h in data["layout"] for e in h["equipment"]] == [world.lift_b.pk]
    assert data["statuses"] == {}  # lift A's fault is not theirs
    assert data["figures"] is None and data["funnel"] is None
    data, _sql = read(client_for(world.sup_a), live(world, "?figures=0&layout=1"))
    assert [e["id"] for h in data["layout"] for e in h["equipment"]] == [world.lift_a.pk]
    assert data["statuses"] == {str(world.lift_a.pk): "fault"}


def test_a_dashboard_opening_does_not_wait_for_the_figures_and_gets_them_on_its_next_poll(world):
    client = client_for(world.commander)
    first, sql = read(client, live(world, "?layout=1"))
    assert first["layout"] and first["figures"] is None and first["funnel"] is None
    assert not [q for q in sql if BOXES_READ in q]
    held = first["layout_version"]
    then, sql = read(client, live(world, f"?layout={held}"))  # the page asks again
    assert len([q for q in sql if BOXES_READ in q]) == 1
    assert {f["key"] for f in then["figures"]} >= {"coldchain.boxes_received"}
    # Another dashboard opening now gets the shared figures along with the layout.
    other, sql = read(client_for(world.sup_a), live(world, "?layout=1"))
    assert other["layout"] and other["figures"] == then["figures"]
    assert not [q for q in sql if BOXES_READ in q]


@pytest.mark.django_db(transaction=True)
def test_a_poll_while_another_computes_the_figures_answers_without_them(world, monkeypatch):
    computing, finish = threading.Event(), threading.Event()

    def slow(event):
        computing.set()
        finish.wait(10)
        return {"at": "now", "figures": [], "funnel": []}

    def another_request():
        with translation.override(world.commander.language):  # the same figures' key
            dashboard._figures_and_funnel(world.event)

    monkeypatch.setattr(dashboard, "_figures_and_funnel_computed", slow)
    first = threading.Thread(target=another_request)
    first.start()
    try:
        assert computing.wait(10)
        data, sql = read(client_for(world.commander), live(world))
        assert data["figures"] is None and data["funnel"] is None
        assert not [q for q in sql if BOXES_READ in q]
    finally:
        finish.set()
        first.join(10)
    data, _sql = read(client_for(world.commander), live(world))
    assert data["figures"] == [] and data["figures_at"] == "now"  # the other's result


@pytest.mark.django_db(transaction=True)
def test_figures_gone_old_are_served_while_one_process_computes_the_next(world, monkeypatch):
    release = threading.Event()
    answers = iter(["first", "second", "third"])
    computed = []

    def compute(event):
        at = next(answers)
        computed.append(at)
        if at == "second":
            release.wait(10)  # the refresh is still computing while the pages are answered
        return {"at": at, "figures": [], "funnel": []}

    monkeypatch.setattr(dashboard, "_figures_and_funnel_computed", compute)
    client = client_for(world.commander)
    data, _sql = read(client, live(world))
    assert data["figures_at"] == "first"
    figures_aged(dashboard.FIGURES_SECONDS)
    try:
        data, _sql = read(client, live(world))
        assert data["figures_at"] == "first"  # answered at once with what there is
        # Other processes meanwhile serve the same and leave the computing to the first.
        for person in (world.sup_a, world.commander):
            another_process()
            data, _sql = read(client_for(person), live(world))
            assert data["figures_at"] == "first"
        assert computed == ["first", "second"]
    finally:
        release.set()
        join_refreshes()
    another_process()
    data, _sql = read(client, live(world))
    assert data["figures_at"] == "second"
    assert computed == ["first", "second"]


@pytest.mark.django_db(transaction=True)
def test_a_process_gone_while_computing_the_figures_is_replaced_once_its_lease_ends(
    world, monkeypatch
):
    answers = iter(["first", "second"])
    monkeypatch.setattr(
        dashboard,
        "_figures_and_funnel_computed",
        lambda event: {"at": next(answers), "figures": [], "funnel": []},
    )
    client = client_for(world.commander)
    assert read(client, live(world))[0]["figures_at"] == "first"
    figures_aged(dashboard.FIGURES_SECONDS)
    # A process took the lease on the next figures and died before storing them.
    now = timezone.now()
    DashboardFigures.objects.update(leased_until=now + dt.timedelta(seconds=30))
    assert read(client, live(world))[0]["figures_at"] == "first"
    join_refreshes()
    another_process()
    assert read(client, live(world))[0]["figures_at"] == "first"  # nobody else computed them
    DashboardFigures.objects.update(leased_until=now - dt.timedelta(seconds=1))  # it ran out
    another_process()
    assert read(client, live(world))[0]["figures_at"] == "first"
    join_refreshes()
    another_process()
    assert read(client, live(world))[0]["figures_at"] == "second"


def test_the_alarm_feed_links_each_alarm_and_names_it_in_the_readers_language(world, trapped):
    from django.urls import reverse

    from eventguard.core.services import person_set_language

    client = client_for(world.commander)
    for language, severity, state in (
        ("en", "Critical", "Active, unacknowledged"),
        ("zh-hans", "紧急", "活动（未确认）"),
    ):
        person_set_language(actor=world.commander, language=language)
        data, _sql = read(client, live(world, "?figures=0"))
        [alarm] = data["alarms"]
        assert (alarm["severity_label"], alarm["state_label"]) == (severity, state)
    code = world.event.code
    assert alarm["url"] == reverse("alerts:alarm_detail", args=[code, trapped.pk])
    assert alarm["dispatch_url"] == reverse("command:work_order_dispatch", args=[code, trapped.pk])
    assert client.get(alarm["url"]).status_code == 200
    assert client.get(alarm["dispatch_url"]).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_poll_that_finds_the_figures_old_is_answered_before_their_computing_starts(
    world, monkeypatch
):
    computed = []

    def compute(event):
        computed.append(threading.current_thread().name)
        return {"at": str(len(computed)), "figures": [], "funnel": []}

    monkeypatch.setattr(dashboard, "_figures_and_funnel_computed", compute)
    with translation.override(world.commander.language):
        assert dashboard._figures_and_funnel(world.event)["at"] == "1"
        figures_aged(dashboard.FIGURES_SECONDS)
        with dashboard.after_answer() as pending:
            data = dashboard.snapshot(user=world.commander, event=world.event)
        assert data["figures_at"] == "1" and len(computed) == 1  # answered; nothing started
        assert len(pending) == 1
        pending[0]()  # as the view's answer does once the server has sent it
        join_refreshes()
    assert computed == ["MainThread", "dashboard-refresh"]
    another_process()
    data, _sql = read(client_for(world.commander), live(world))
    assert data["figures_at"] == "2"


def test_figures_computed_under_a_lease_taken_over_meanwhile_are_not_kept(world, monkeypatch):
    answers = iter(["first", "late", "second"])
    monkeypatch.setattr(
        dashboard,
        "_figures_and_funnel_computed",
        lambda event: {"at": next(answers), "figures": [], "funnel": []},
    )
    language = world.commander.language
    client = client_for(world.commander)
    with translation.override(language):
        assert dashboard._figures_and_funnel(world.event)["at"] == "first"
        figures_aged(dashboard.FIGURES_SECONDS)
        row = DashboardFigures.objects.get()
        slow = dashboard._figures_lease(world.event, language, row, timezone.now())
        # Its lease runs out before it is done, and another process takes the next one.
        row.refresh_from_db()
        later = timezone.now() + dashboard.FIGURES_LEASE + dt.timedelta(seconds=1)
        quick = dashboard._figures_lease(world.event, language, row, later)
        assert slow and quick and quick != slow
        assert dashboard._figures_store(world.event, language, slow)["at"] == "late"
    # Neither stored nor kept by the late process: it serves what everyone serves, and
    # learns that someone computes the next ones without writing anything.
    data, sql = read(client, live(world))
    assert data["figures_at"] == "first"
    assert not [q for q in sql if q.lstrip().upper().startswith("UPDATE")]
    with translation.override(language):
        assert dashboard._figures_store(world.event, language, quick)["at"] == "second"
    another_process()
    assert read(client, live(world))[0]["figures_at"] == "second"
