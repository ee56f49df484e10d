"""E-mail is retried with backoff and logged like webhook deliveries: a mail server that
refuses, then one that takes the message; the log over the API."""

import datetime as dt
import smtplib

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from eventguard.command import services, tasks
from eventguard.command.models import EmailDelivery
from eventguard.core.models import AuditEntry
from eventguard.core.testing import api_client_for

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class RefusingBackend(BaseEmailBackend):
    """A mail server that is away."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


@pytest.fixture
def mail_server_away(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    return settings


def test_a_refused_e_mail_is_retried_after_its_backoff_until_it_leaves(
    mail_server_away, world, trapped
):
    delivery = EmailDelivery.objects.get(to=world.post_a.email)
    assert delivery.state == "pending" and delivery.attempt_count == 1
    assert "SMTPServerDisconnected" in delivery.attempts[0]["error"]
    assert mail.outbox == []
    first_retry = delivery.next_attempt_at
    assert first_retry > timezone.now()
    assert services.emails_deliver_due() == 0  # not before its backoff

    mail_server_away.EMAIL_BACKEND = LOCMEM
    assert services.emails_deliver_due(now=first_retry + dt.timedelta(seconds=1)) == 1
    delivery.refresh_from_db()
    assert delivery.state == "delivered" and delivery.attempt_count == 2
    assert [bool(a["error"]) for a in delivery.attempts] == [True, False]
    assert [m.to for m in mail.outbox] == [[world.post_a.email]]
    assert mail.outbox[0].subject == delivery.subject and trapped.subject_name in delivery.subject
    assert f"/alarms/{trapped.pk}/" in mail.outbox[0].body
    assert tasks.run_due() >= 0 and len(mail.outbox) == 1  # delivered: never sent again
    audited = AuditEntry.objects.filter(action="email.deliver", object_id=str(delivery.pk))
    assert audited.count() == 2


def test_an_e_mail_is_given_up_after_the_last_attempt(mail_server_away, world, trapped):
    at = timezone.now()
    for _ in range(services.EMAIL_MAX_ATTEMPTS):
        at += dt.timedelta(hours=2)
        services.emails_deliver_due(now=at)
    delivery = EmailDelivery.objects.get()
    assert delivery.state == "failed" and delivery.next_attempt_at is None
    assert delivery.attempt_count == services.EMAIL_MAX_ATTEMPTS
    assert services.emails_deliver_due(now=at + dt.timedelta(days=1)) == 0
    assert mail.outbox == []


def test_the_e_mail_log_over_the_api(mail_server_away, world, trapped):
    client, headers = api_client_for(world.commander)
    r = client.get(f"/api/email-deliveries?event={world.event.code}", **headers)
    assert r.status_code == 200
    [row] = r.json()
    assert row["to"] == world.post_a.email and row["state"] == "pending"
    assert row["attempt_count"] == 1 and "SMTPServerDisconnected" in row["attempts"][0]["error"]
    failed = client.get(f"/api/email-deliveries?event={world.event.code}&state=failed", **headers)
    assert failed.json() == []
    bad = client.get(f"/api/email-deliveries?event={world.event.code}&state=lost", **headers)
    assert bad.status_code in (400, 422)
    # Others see only their own e-mails.
    for person, expected in ((world.post_b, []), (world.post_a, [row["id"]])):
        other, other_headers = api_client_for(person)
        r = other.get(f"/api/email-deliveries?event={world.event.code}", **other_headers)
        assert r.status_code == 200 and [x["id"] for x in r.json()] == expected


def test_an_e_mail_is_written_in_its_recipient_language(world, report):
    from eventguard.core.services import person_update
    from eventguard.telemetry.testing import elevator

    person_update(actor=None, user=world.post_a, language="zh-hans")
    report(world.device_a, elevator(1, fault="trapped_away_from_floor"))
    [message] = mail.outbox
    assert "电梯困人" in message.subject and "Passenger trapped" not in message.subject
