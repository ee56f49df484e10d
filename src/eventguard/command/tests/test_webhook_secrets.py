"""A webhook's address may carry a secret (a robot's token in the query string, a password
before the host): only those who may change the webhook see it in full; everyone else who
may read the webhooks, and the audit trail, see it masked."""

import html

import pytest

from eventguard.command import services
from eventguard.command.models import Webhook, WebhookDelivery
from eventguard.command.selectors import url_masked
from eventguard.core.models import AuditEntry
from eventguard.core.testing import api_client_for, client_for

ROBOT = "https://oapi.example/robot/send?access_token=3f9c2a7be1d04&sign=abc"
ROBOT_MASKED = "https://oapi.example/robot/send?access_token=•••&sign=•••"
BASIC = "https://duty:hunter2pass@hooks.example.org:8443/in"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (ROBOT, ROBOT_MASKED),
        (BASIC, "https://•••@hooks.example.org:8443/in"),
        ("https://hooks.example.org/in?token", "https://hooks.example.org/in?•••"),
        (
            "https://hooks.example.org/in?empty=&k=v#frag",
            "https://hooks.example.org/in?empty=&k=•••#•••",
        ),
        ("https://hooks.example.org/plain/path", "https://hooks.example.org/plain/path"),
        ("http://[::1", "•••"),
    ],
)
def test_what_may_be_a_secret_is_masked_and_the_rest_kept(url, shown):
    assert url_masked(url) == shown


@pytest.fixture
def people(people):
    """The settings pages' people (conftest), and two webhooks with secrets in their URLs."""
    p = people
    p.robot = services.webhook_create(actor=p.commander, event=p.event, name="Robot", url=ROBOT)
    p.basic = services.webhook_create(actor=p.commander, event=p.event, name="Basic", url=BASIC)
    return p


def _page(user, event, rest):
    response = client_for(user).get(f"/e/{event.code}/command/settings/webhooks/{rest}")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_a_supervisor_sees_the_addresses_masked_on_the_pages(people):
    p = people
    listing = _page(p.supervisor, p.event, "")
    assert ROBOT_MASKED in listing and "https://•••@hooks.example.org:8443/in" in listing
    assert "3f9c2a7be1d04" not in listing and "hunter2pass" not in listing
    log = _page(p.supervisor, p.event, f"{p.robot.pk}/deliveries/")
    assert ROBOT_MASKED in log and "3f9c2a7be1d04" not in log


def test_a_commander_sees_them_in_full_and_the_edit_form_keeps_the_address(people):
    p = people
    listing = _page(p.commander, p.event, "")
    assert ROBOT in listing and BASIC in listing
    assert ROBOT in _page(p.commander, p.event, f"{p.robot.pk}/deliveries/")
    form = _page(p.commander, p.event, f"{p.robot.pk}/")
    assert f'value="{ROBOT}"' in form
    # Saved as the form shows it: the token is still there, not the mask.
    response = client_for(p.commander).post(
        f"/e/{p.event.code}/command/settings/webhooks/{p.robot.pk}/",
        {"name": "Robot 2", "url": ROBOT},
    )
    assert response.status_code == 302
    p.robot.refresh_from_db()
    assert (p.robot.name, p.robot.url) == ("Robot 2", ROBOT)


def test_the_api_masks_the_address_for_those_who_may_not_change_it(people):
    p = people
    for reader in (p.supervisor, p.auditor):
        client, headers = api_client_for(reader)
        r = client.get(f"/api/webhooks?event={p.event.code}", **headers)
        assert r.status_code == 200
        assert {h["name"]: h["url"] for h in r.json()} == {
            "Robot": ROBOT_MASKED,
            "Basic": "https://•••@hooks.example.org:8443/in",
        }
    client, headers = api_client_for(p.commander)
    r = client.get(f"/api/webhooks?event={p.event.code}", **headers)
    assert {h["name"]: h["url"] for h in r.json()} == {"Robot": ROBOT, "Basic": BASIC}
    # The answer to a change is the commander's: in full.
    r = client.post(f"/api/webhooks/{p.robot.pk}/pause", **headers)
    assert r.status_code == 200 and r.json()["url"] == ROBOT


def test_the_audit_trail_holds_the_address_masked_and_the_webhook_in_full(people):
    p = people
    services.webhook_update(
        actor=p.commander,
        webhook=p.robot,
        name="Robot",
        url="https://oapi.example/robot/send?access_token=new0token0value",
    )
    trail = list(
        AuditEntry.objects.filter(action__in=["webhook.create", "webhook.update"])
        .order_by("seq")
        .values_list("before", "after")
    )
    assert len(trail) == 3
    assert "3f9c2a7be1d04" not in str(trail) and "hunter2pass" not in str(trail)
    assert "new0token0value" not in str(trail)
    assert trail[-1][0]["url"] == ROBOT_MASKED
    assert trail[-1][1]["url"] == "https://oapi.example/robot/send?access_token=•••"
    assert Webhook.objects.get(pk=p.robot.pk).url.endswith("access_token=new0token0value")


def test_the_masked_address_posts_to_the_full_one(people, monkeypatch):
    """Masking is for people: the worker posts to the address with its token."""
    p = people
    posted = []

    class Answer:
        status = 204

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(
        "urllib.request.urlopen",
        lambda request, timeout: posted.append(request.full_url) or Answer(),
    )
    services._webhooks_for(p.event.pk, "critical", "equipment", {"topic": "alarm.raised"})
    assert services.webhooks_deliver_due() == 2
    assert sorted(posted) == sorted([ROBOT, BASIC])
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}
