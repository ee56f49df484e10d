"""A delivery is not posted twice at once: "retry now" is refused while a worker's attempt
is under way (its lease); and one whose attempt outlived its lease, so that another worker
delivered it meanwhile, is not undone by the late attempt."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from eventguard.command import services
from eventguard.command.models import WebhookDelivery
from eventguard.core.models import AuditEntry


def _waiting_delivery(world) -> WebhookDelivery:
    """A webhook of the event and the delivery of an alarm to it, due now."""
    hook = services.webhook_create(
        actor=world.commander, event=world.event, name="ops", url="http://127.0.0.1:9/ops"
    )
    services._webhooks_for(world.event.pk, "critical", "equipment", {"topic": "alarm.raised"})
    return WebhookDelivery.objects.select_related("webhook").get(webhook=hook)


def test_retry_now_is_refused_while_an_attempt_is_under_way(world, monkeypatch):
    delivery = _waiting_delivery(world)
    now = timezone.now()

    # A worker takes it (its lease) and is still waiting for the receiver ...
    slow = services._claim_delivery(now)
    assert slow.pk == delivery.pk and slow.leased_until == now + services.WEBHOOK_LEASE
    # ... when a commander asks to retry it now: refused, nothing changed, nothing audited.
    with pytest.raises(ValidationError, match="being posted right now"):
        services.webhook_delivery_retry(
            actor=world.commander, delivery=delivery, now=now + dt.timedelta(seconds=5)
        )
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + services.WEBHOOK_LEASE
    assert not AuditEntry.objects.filter(action="webhook.retry").exists()
    assert services.webhooks_deliver_due(now=now + dt.timedelta(seconds=5)) == 0

    # The attempt ends (refused by the receiver): its lease is over, and "retry now" is taken.
    monkeypatch.setattr(services, "_post", lambda d: (503, "Service Unavailable"))
    services.webhook_delivery_attempt(delivery=slow, now=now + dt.timedelta(seconds=10))
    delivery.refresh_from_db()
    assert delivery.leased_until is None and delivery.state == "pending"
    services.webhook_delivery_retry(
        actor=world.commander, delivery=delivery, now=now + dt.timedelta(seconds=11)
    )
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == now + dt.timedelta(seconds=11)


def test_retry_now_is_taken_again_once_a_vanished_workers_lease_ran_out(world):
    delivery = _waiting_delivery(world)
    now = timezone.now()
    services._claim_delivery(now)  # the worker stops before it logs the attempt
    later = now + services.WEBHOOK_LEASE + dt.timedelta(seconds=1)
    services.webhook_delivery_retry(actor=world.commander, delivery=delivery, now=later)
    delivery.refresh_from_db()
    assert delivery.state == "pending" and delivery.next_attempt_at == later


def test_an_attempt_that_outlives_its_lease_leaves_a_delivered_delivery_delivered(
    world, monkeypatch
):
    delivery = _waiting_delivery(world)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempt_count=services.WEBHOOK_MAX_ATTEMPTS - 1
    )
    now = timezone.now()

    # Worker A takes it (its lease) and is still waiting for the receiver after its lease ran
    # out, when worker B takes it and delivers it.
    slow = services._claim_delivery(now)
    assert slow.pk == delivery.pk
    later = now + services.WEBHOOK_LEASE + dt.timedelta(seconds=1)
    monkeypatch.setattr(services, "_post", lambda d: (204, ""))
    assert services.webhooks_deliver_due(now=later) == 1
    # Worker A's attempt ends in a time-out: the last attempt by count, yet it was delivered.
    monkeypatch.setattr(services, "_post", lambda d: (None, "timed out"))
    state = services.webhook_delivery_attempt(delivery=slow, now=later + dt.timedelta(seconds=1))

    delivery.refresh_from_db()
    assert state == "delivered"
    assert delivery.state == "delivered" and delivery.next_attempt_at is None
    assert delivery.leased_until is None
    assert [a["status"] for a in delivery.attempts] == [204, None]
    assert services.webhooks_deliver_due(now=now + dt.timedelta(days=1)) == 0


def test_a_late_attempt_leaves_the_lease_of_the_worker_that_took_the_delivery_again(
    world, monkeypatch
):
    """Worker A's lease runs out, worker B takes the delivery (a lease of its own) and is
    still posting when A's attempt ends: B's lease stays, so "retry now" is still refused."""
    delivery = _waiting_delivery(world)
    now = timezone.now()
    slow = services._claim_delivery(now)
    later = now + services.WEBHOOK_LEASE + dt.timedelta(seconds=1)
    taken_again = services._claim_delivery(later)
    assert taken_again.pk == delivery.pk
    assert taken_again.leased_until == later + services.WEBHOOK_LEASE

    monkeypatch.setattr(services, "_post", lambda d: (None, "timed out"))
    services.webhook_delivery_attempt(delivery=slow, now=later + dt.timedelta(seconds=2))
    delivery.refresh_from_db()
    assert delivery.leased_until == later + services.WEBHOOK_LEASE  # B's, untouched
    with pytest.raises(ValidationError, match="being posted right now"):
        services.webhook_delivery_retry(
            actor=world.commander, delivery=delivery, now=later + dt.timedelta(seconds=3)
        )
    monkeypatch.setattr(services, "_post", lambda d: (204, ""))
    services.webhook_delivery_attempt(delivery=taken_again, now=later + dt.timedelta(seconds=4))
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.leased_until is None


def test_an_smtp_relay_that_does_not_answer_is_left_within_the_lease(settings):
    from django.core.mail import get_connection

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    timeout = get_connection().timeout
    assert timeout is not None
    assert timeout < services.WEBHOOK_LEASE.total_seconds()


def test_a_relay_that_is_away_stops_the_round_after_one_failed_e_mail(world, settings):
    from django.core import mail

    from eventguard.command.models import EmailDelivery

    settings.EMAIL_BACKEND = "eventguard.command.tests.test_email_delivery.RefusingBackend"
    now = timezone.now()
    queued = [
        EmailDelivery.objects.create(
            event=world.event,
            user=world.commander,
            to=f"duty{n}@example.org",
            topic="alarm.raised",
            subject="Alarm",
            body="Alarm",
            next_attempt_at=now,
        )
        for n in range(3)
    ]
    assert services.emails_deliver_due(now=now) == 1
    states = {
        e.to: (e.state, e.attempt_count) for e in EmailDelivery.objects.filter(event=world.event)
    }
    assert states == {
        "duty0@example.org": ("pending", 1),
        "duty1@example.org": ("pending", 0),
        "duty2@example.org": ("pending", 0),
    }

    # The relay is back: the waiting ones leave in one round, the refused one after its backoff.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.emails_deliver_due(now=now) == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["duty1@example.org", "duty2@example.org"]
    queued[0].refresh_from_db()
    assert services.emails_deliver_due(now=queued[0].next_attempt_at) == 1
    assert EmailDelivery.objects.filter(event=world.event, state="delivered").count() == 3


def test_the_delivery_log_shows_an_attempt_under_way_and_refuses_to_retry_it(world):
    from eventguard.core.testing import api_client_for, client_for

    hook = _waiting_delivery(world).webhook
    delivery = services._claim_delivery(timezone.now())
    client = client_for(world.commander)
    log = f"/e/{world.event.code}/command/settings/webhooks/{hook.pk}/deliveries/"
    html = client.get(log).content.decode()
    assert "Being posted now" in html and "Retry now" not in html
    refused = client.post(f"{log}{delivery.pk}/retry/", follow=True).content.decode()
    assert f"Delivery {delivery.pk} is being posted right now" in refused

    api, headers = api_client_for(world.commander)
    [listed] = api.get(f"/api/webhooks/{hook.pk}/deliveries", **headers).json()
    assert listed["leased_until"] is not None
    r = api.post(f"/api/webhook-deliveries/{delivery.pk}/retry", **headers)
    assert r.status_code == 400 and "being posted right now" in r.content.decode()
    assert not AuditEntry.objects.filter(action="webhook.retry").exists()
