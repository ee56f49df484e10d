"""A delivery whose attempt overlaps another worker's (the lease ran out, or "retry now"
made it due again while it was being sent) is not undone by the late attempt."""

import datetime as dt

from django.utils import timezone

from eventguard.command import services
from eventguard.command.models import WebhookDelivery


def test_retry_now_during_an_attempt_leaves_a_delivered_delivery_delivered(world, monkeypatch):
    hook = services.webhook_create(
        actor=world.commander, event=world.event, name="ops", url="http://127.0.0.1:9/ops"
    )
    services._webhooks_for(world.event.pk, "critical", "equipment", {"topic": "alarm.raised"})
    delivery = WebhookDelivery.objects.get(webhook=hook)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempt_count=services.WEBHOOK_MAX_ATTEMPTS - 1
    )
    now = timezone.now()

    # Worker A takes it (its lease) and is still waiting for the receiver ...
    slow = services._claim_delivery(now)
    assert slow.pk == delivery.pk
    # ... when a commander asks to retry it now, and worker B delivers it.
    services.webhook_delivery_retry(actor=world.commander, delivery=delivery, now=now)
    monkeypatch.setattr(services, "_post", lambda d: (204, ""))
    assert services.webhooks_deliver_due(now=now) == 1
    # Worker A's attempt ends in a time-out: the last attempt by count, yet it was delivered.
    monkeypatch.setattr(services, "_post", lambda d: (None, "timed out"))
    state = services.webhook_delivery_attempt(delivery=slow, now=now + dt.timedelta(seconds=10))

    delivery.refresh_from_db()
    assert state == "delivered"
    assert delivery.state == "delivered" and delivery.next_attempt_at is None
    assert [a["status"] for a in delivery.attempts] == [204, None]
    assert services.webhooks_deliver_due(now=now + dt.timedelta(days=1)) == 0


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
