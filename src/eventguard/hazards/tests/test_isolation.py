"""A unit operator sees and answers its own unit's hidden dangers, and nothing of another
unit: pages and API alike answer 404."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from eventguard.core.testing import api_client_for, client_for
from eventguard.hazards import services


def _hazards(w):
    mine = services.hazard_report(actor=None, event=w.event, title="本单位隐患", equipment=w.lift_a)
    theirs = services.hazard_report(
        actor=None, event=w.event, title="他单位隐患", equipment=w.lift_b
    )
    for hazard in (mine, theirs):
        services.hazard_assign(
            actor=None,
            hazard=hazard,
            assignee=w.operator_a if hazard is mine else w.operator_b,
            measure="整改",
            deadline=timezone.now() + dt.timedelta(days=1),
        )
    return mine, theirs


def test_pages_show_only_the_own_units_hazards(world):
    mine, theirs = _hazards(world)
    client = client_for(world.operator_a)
    listing = client.get(reverse("hazards:hazard_list", args=[world.event.code]))
    assert listing.status_code == 200
    assert "本单位隐患" in listing.content.decode()
    assert "他单位隐患" not in listing.content.decode()
    assert (
        client.get(reverse("hazards:hazard_detail", args=[world.event.code, mine.pk])).status_code
        == 200
    )
    assert (
        client.get(reverse("hazards:hazard_detail", args=[world.event.code, theirs.pk])).status_code
        == 404
    )
    # Not even a transition posted at the other unit's hazard gets past the 404.
    response = client.post(
        reverse("hazards:hazard_detail", args=[world.event.code, theirs.pk]),
        {"action": "rectify", "rectify-note": "x"},
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "assigned"


def test_the_operator_rectifies_its_own_hazard_from_the_page(world):
    mine, _theirs = _hazards(world)
    url = reverse("hazards:hazard_detail", args=[world.event.code, mine.pk])
    client = client_for(world.operator_a)
    page = client.get(url).content.decode()
    assert 'value="rectify"' in page and 'value="accept"' not in page
    response = client.post(url, {"action": "rectify", "rectify-note": "已更换部件"}, follow=True)
    assert response.status_code == 200
    mine.refresh_from_db()
    assert mine.status == "rectified" and mine.rectification_note == "已更换部件"
    # Verifying is not the operator's: refused, and the hazard stays rectified.
    response = client.post(url, {"action": "accept", "accept-note": ""})
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.status == "rectified"


def test_api_list_detail_and_transitions_are_scoped_to_the_own_unit(world):
    mine, theirs = _hazards(world)
    client, headers = api_client_for(world.operator_a)
    listing = client.get(f"/api/hazards?event={world.event.code}", **headers)
    assert listing.status_code == 200
    assert [h["id"] for h in listing.json()["items"]] == [mine.pk]
    assert client.get(f"/api/hazards/{mine.pk}", **headers).json()["actions"] == ["rectify"]
    missing = client.get(f"/api/hazards/{theirs.pk}", **headers)
    assert missing.status_code == 404 and missing.json()["detail"]
    post = client.post(
        f"/api/hazards/{theirs.pk}/transitions", {"action": "rectify", "note": "x"}, **headers
    )
    assert post.status_code == 404
    done = client.post(
        f"/api/hazards/{mine.pk}/transitions", {"action": "rectify", "note": "已整改"}, **headers
    )
    assert done.status_code == 200 and done.json()["status"] == "rectified"
    refused = client.post(f"/api/hazards/{mine.pk}/transitions", {"action": "accept"}, **headers)
    assert refused.status_code == 403


def test_api_refusals_are_json_naming_the_field(world):
    mine, _theirs = _hazards(world)
    client, headers = api_client_for(world.supervisor)
    response = client.post(f"/api/hazards/{mine.pk}/transitions", {"action": "accept"}, **headers)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "action"
    assert "must first be Rectified" in body["errors"][0]["message"]


def test_risk_points_and_equipment_of_another_unit_are_404_too(world):
    from eventguard.hazards.models import RiskPoint

    theirs = services.risk_point_create(
        actor=None,
        event=world.event,
        code="r1",
        title="他单位风险",
        hazard_description="x",
        likelihood="1",
        exposure="6",
        consequence="7",
        equipment=world.lift_b,
    )
    client, headers = api_client_for(world.operator_a)
    assert client.get(f"/api/risks/{theirs.pk}", **headers).status_code == 404
    assert client.get(f"/api/equipment/{world.lift_b.pk}", **headers).status_code == 404
    assert client.get(f"/api/equipment/{world.lift_a.pk}", **headers).status_code == 200
    web = client_for(world.operator_a)
    assert (
        web.get(reverse("hazards:risk_detail", args=[world.event.code, theirs.pk])).status_code
        == 404
    )
    assert (
        web.get(
            reverse("equipment:equipment_detail", args=[world.event.code, world.lift_b.pk])
        ).status_code
        == 404
    )
    assert RiskPoint.objects.count() == 1


def test_post_staff_see_only_their_zones(world):
    services.hazard_report(actor=None, event=world.event, title="A区", equipment=world.lift_a)
    services.hazard_report(actor=None, event=world.event, title="B区", equipment=world.lift_b)
    client, headers = api_client_for(world.post_a)
    titles = [
        h["title"]
        for h in client.get(f"/api/hazards?event={world.event.code}", **headers).json()["items"]
    ]
    assert titles == ["A区"]


def test_the_hazard_list_does_not_query_per_row(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(world.supervisor)
    url = reverse("hazards:hazard_list", args=[world.event.code])
    _hazards(world)
    client.get(url)  # the person's grants are read at the first request, then kept
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        _hazards(world)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)
