"""Webhooks signed and retried against a real local HTTP receiver; the delivery log; the
in-app feed over server-sent events; the dashboard's live data."""

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from eventguard.command import services, tasks
from eventguard.command.models import Notification, WebhookDelivery
from eventguard.core.testing import api_client_for, client_for


class Receiver:
    """A real HTTP endpoint that answers 500 to its first ``fail_first`` requests."""

    def __init__(self, fail_first: int):
        self.fail_first = fail_first
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))
                status = 500 if len(receiver.requests) <= receiver.fail_first else 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=1)
    yield r
    r.close()


def test_an_unacknowledged_alarm_escalates_and_a_signed_webhook_is_retried_until_delivered(
    world, report, receiver
):
    hook = services.webhook_create(
        actor=world.commander,
        event=world.event,
        name="duty room",
        url=receiver.url,
        severities=["critical"],
    )
    services.escalation_chain_set(
        actor=world.commander,
        event=world.event,
        severity="critical",
        levels=[
            {"target": "post_staff", "ack_within_seconds": 30},
            {"target": "commander", "ack_within_seconds": 30, "remind_every_seconds": 60},
        ],
    )
    from eventguard.telemetry.testing import elevator

    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    start = timezone.now()
    # The first attempt meets a failing receiver; the retry waits its backoff.
    assert tasks.run_due() >= 1
    delivery = WebhookDelivery.objects.get(topic="alarm.raised")
    assert delivery.state == "pending" and delivery.attempt_count == 1
    assert delivery.attempts[0]["status"] == 500
    assert delivery.next_attempt_at > start
    # After the level's time, the alarm escalates to the commander (a second webhook body).
    services.escalations_due(now=start + dt.timedelta(seconds=31))
    assert Notification.objects.filter(user=world.commander, kind="alarm.escalated").exists()
    later = start + dt.timedelta(seconds=120)
    services.webhooks_deliver_due(now=later)
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempt_count == 2
    assert [a["status"] for a in delivery.attempts] == [500, 204]
    topics = sorted(json.loads(body)["topic"] for _h, body in receiver.requests)
    assert topics == ["alarm.escalated", "alarm.raised", "alarm.raised"]
    for headers, body in receiver.requests:
        expected = "sha256=" + hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-EventGuard-Signature"] == expected
    payload = json.loads(receiver.requests[-1][1])
    assert payload["alarm"]["rule"] == "lift-trapped" and payload["event"] == world.event.code


def test_a_receiver_that_never_answers_is_given_up_after_the_last_attempt(world, report):
    services.webhook_create(
        actor=world.commander, event=world.event, name="gone", url="http://127.0.0.1:9/x"
    )
    from eventguard.telemetry.testing import elevator

    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    at = timezone.now()
    for _ in range(services.WEBHOOK_MAX_ATTEMPTS):
        services.webhooks_deliver_due(now=at)
        at += dt.timedelta(hours=2)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"
    assert delivery.attempt_count == services.WEBHOOK_MAX_ATTEMPTS
    assert all(a["status"] is None and a["error"] for a in delivery.attempts)


def test_backoff_doubles_and_is_capped():
    assert [services.webhook_backoff(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert services.webhook_backoff(20).total_seconds() == 3600


def test_webhooks_and_their_log_through_the_api(world):
    client, headers = api_client_for(world.commander)
    r = client.post(
        f"/api/webhooks?event={world.event.code}",
        {"name": "ops", "url": "http://127.0.0.1:9/ops"},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 201 and len(r.json()["secret"]) == 64
    hook_id = r.json()["id"]
    r = client.get(f"/api/webhooks/{hook_id}/deliveries", **headers)
    assert r.status_code == 200 and r.json() == []
    post, post_headers = api_client_for(world.post_a)
    r = post.post(
        f"/api/webhooks?event={world.event.code}",
        {"name": "mine", "url": "http://127.0.0.1:9/"},
        content_type="application/json",
        **post_headers,
    )
    assert r.status_code == 403


def test_a_webhook_changed_paused_rotated_and_retried_through_the_api(world, report, receiver):
    client, headers = api_client_for(world.commander)
    created = client.post(
        f"/api/webhooks?event={world.event.code}",
        {"name": "ops", "url": "http://127.0.0.1:9/ops"},
        content_type="application/json",
        **headers,
    ).json()
    hook_id = created["id"]
    r = client.put(
        f"/api/webhooks/{hook_id}",
        {"name": "ops room", "url": receiver.url, "severities": ["nuclear"]},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["severities"]
    assert "nuclear" in r.json()["errors"][0]["message"]
    r = client.put(
        f"/api/webhooks/{hook_id}",
        {"name": "ops room", "url": receiver.url, "severities": ["critical"]},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 200 and r.json()["name"] == "ops room"
    r = client.post(f"/api/webhooks/{hook_id}/rotate-secret", **headers)
    assert r.status_code == 200 and r.json()["secret"] not in ("", created["secret"])
    new_secret = r.json()["secret"]

    # Paused before its first attempt: the alarm's delivery waits, it is not posted; and a
    # paused webhook gets no new deliveries.
    from eventguard.telemetry.testing import elevator

    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    assert client.post(f"/api/webhooks/{hook_id}/pause", **headers).json()["active"] is False
    report(world.device_b, elevator(1, fault="trapped_away_from_floor"))
    later = timezone.now() + dt.timedelta(hours=1)
    services.webhooks_deliver_due(now=later)
    assert receiver.requests == []
    delivery = WebhookDelivery.objects.get(webhook_id=hook_id)
    assert delivery.state == "pending" and delivery.attempt_count == 0
    r = client.post(f"/api/webhook-deliveries/{delivery.pk}/retry", **headers)
    assert r.status_code == 400 and "reactivate" in json.dumps(r.json())

    # Reactivated: posted on the next round, signed with the new secret.
    assert client.post(f"/api/webhooks/{hook_id}/activate", **headers).json()["active"] is True
    receiver.fail_first = 0
    services.webhooks_deliver_due(now=later)
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    req_headers, body = receiver.requests[-1]
    signature = hmac.new(new_secret.encode(), body, hashlib.sha256).hexdigest()
    assert req_headers["X-EventGuard-Signature"] == "sha256=" + signature
    r = client.post(f"/api/webhook-deliveries/{delivery.pk}/retry", **headers)
    assert r.status_code == 400 and "was delivered" in json.dumps(r.json())

    # Post staff may see nothing of it to change; another event's id is not found.
    post, post_headers = api_client_for(world.post_a)
    assert post.post(f"/api/webhooks/{hook_id}/pause", **post_headers).status_code in (403, 404)
    assert client.post("/api/webhooks/999999/pause", **headers).status_code == 404


def test_preferences_through_the_api(world):
    client, headers = api_client_for(world.post_a)
    r = client.put(
        f"/api/notification-preferences?event={world.event.code}",
        {"channel": "email", "severities": ["critical"], "domains": ["equipment"]},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 200 and r.json()["severities"] == ["critical"]
    r = client.put(
        f"/api/notification-preferences?event={world.event.code}",
        {"channel": "email", "severities": ["urgent"]},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 400
    r = client.get(f"/api/notification-preferences?event={world.event.code}", **headers)
    assert [p["channel"] for p in r.json()] == ["email"]


def _read(response) -> str:
    """The whole of a (short) event stream, read as the ASGI server reads it."""
    from asgiref.sync import async_to_sync

    async def collect():
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)().decode()


def test_the_feed_streams_new_notifications_as_server_sent_events(world, trapped, monkeypatch):
    from eventguard.command import views

    monkeypatch.setattr(views, "FEED_SECONDS", 0.1)
    response = client_for(world.post_a).get(f"/e/{world.event.code}/feed/stream/")
    assert response["Content-Type"] == "text/event-stream"
    text = _read(response)
    note = Notification.objects.get(user=world.post_a)
    assert f"id: {note.pk}\nevent: notification\n" in text
    assert trapped.subject_name in text
    # Reconnecting where it stopped sends nothing again.
    again = client_for(world.post_a).get(
        f"/e/{world.event.code}/feed/stream/", HTTP_LAST_EVENT_ID=str(note.pk)
    )
    assert "event: notification" not in _read(again)
    r = client_for(world.post_a).get(f"/api/notifications?event={world.event.code}")
    assert r.status_code in (200, 401)


def test_the_dashboard_shows_the_alarm_the_lift_in_fault_and_figures(world, trapped):
    commander = client_for(world.commander)
    page = commander.get(f"/e/{world.event.code}/command/")
    html = page.content.decode()
    assert page.status_code == 200 and "echarts.min.js" in html and "//cdn" not in html
    data = commander.get(f"/e/{world.event.code}/command/live/").json()
    assert [a["id"] for a in data["alarms"]] == [trapped.pk]
    assert data["statuses"] == {str(world.lift_a.pk): "fault"}  # lift B normal: not listed
    layout = commander.get(f"/e/{world.event.code}/command/live/?layout=1").json()["layout"]
    assert {e["id"] for h in layout for e in h["equipment"]} == {world.lift_a.pk, world.lift_b.pk}
    assert {f["key"] for f in data["figures"]} >= {"alerts.open_alarms"}
    assert [s["value"] for s in data["funnel"]] == [0, 0, 0]
    hall_b = client_for(world.sup_b).get(f"/e/{world.event.code}/command/live/").json()
    assert hall_b["alarms"] == []
    assert client_for(world.post_a).get("/e/no-such-event/command/live/").status_code == 404


def test_a_person_chooses_their_notifications_on_a_page(world):
    client = client_for(world.post_a)
    page = client.get(f"/e/{world.event.code}/feed/settings/")
    assert page.status_code == 200 and "Escalation chain" in page.content.decode()
    r = client.post(
        f"/e/{world.event.code}/feed/settings/",
        {
            "feed-enabled": "on",
            "feed-severities": ["critical", "major"],
            "email-domains": ["equipment"],
        },
    )
    assert r.status_code == 302
    prefs = {p.channel: p for p in services_prefs(world)}
    assert prefs["feed"].enabled and prefs["feed"].severities == ["critical", "major"]
    assert not prefs["email"].enabled and prefs["email"].domains == ["equipment"]


def services_prefs(world):
    from eventguard.command.selectors import preferences

    return preferences(user=world.post_a, event=world.event)


def test_the_dashboard_leaves_out_the_slow_figures_when_asked(world, trapped):
    data = client_for(world.commander).get(f"/e/{world.event.code}/command/live/?figures=0").json()
    assert data["figures"] is None and data["funnel"] is None
    assert [a["id"] for a in data["alarms"]] == [trapped.pk]
