"""E-mails and webhook bodies leave the platform: their link is absolute when the platform
knows its public address, and a bare path (with a warning from ``eventguard check``) when
it does not."""

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import transaction

from eventguard import settings as settings_module
from eventguard.command import services
from eventguard.command.models import EmailDelivery, Notification, WebhookDelivery


def _notify(world, captured, **extra):
    with captured(execute=True), transaction.atomic():
        services.notify(
            event_id=world.event.pk,
            kind="work_order.dispatched",
            severity="critical",
            domain="equipment",
            title="Work order 7 for you",
            body="Lift A: passengers trapped",
            url=f"/e/{world.event.code}/work-orders/7/",
            recipients=[world.post_a],
            **extra,
        )


def test_an_e_mail_links_to_the_platforms_public_address(
    world, settings, django_capture_on_commit_callbacks
):
    settings.EVENTGUARD_BASE_URL = "https://guard.example.gov.cn"
    _notify(world, django_capture_on_commit_callbacks)
    link = f"https://guard.example.gov.cn/e/{world.event.code}/work-orders/7/"
    [sent] = mail.outbox
    assert sent.body.endswith("\n\n" + link)
    assert EmailDelivery.objects.get(to=world.post_a.email).body.endswith(link)
    # The feed is read inside the platform: its link stays a path.
    assert (
        Notification.objects.get(user=world.post_a).url == f"/e/{world.event.code}/work-orders/7/"
    )


def test_without_an_address_the_e_mail_keeps_the_path(
    world, settings, django_capture_on_commit_callbacks
):
    settings.EVENTGUARD_BASE_URL = ""
    _notify(world, django_capture_on_commit_callbacks)
    [sent] = mail.outbox
    assert sent.body.endswith(f"\n\n/e/{world.event.code}/work-orders/7/")


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("https://guard.example.gov.cn/", "https://guard.example.gov.cn/e/X/alarms/5/"),
        ("", "/e/X/alarms/5/"),
    ],
)
def test_a_url_in_a_webhook_body_is_made_absolute_the_same_way(
    world, settings, django_capture_on_commit_callbacks, base, expected
):
    import json

    settings.EVENTGUARD_BASE_URL = base
    hook = services.webhook_create(
        actor=world.commander, event=world.event, name="ops", url="http://127.0.0.1:9/ops"
    )
    _notify(
        world, django_capture_on_commit_callbacks, payload={"topic": "t", "url": "/e/X/alarms/5/"}
    )
    body = json.loads(WebhookDelivery.objects.get(webhook=hook).body)
    assert body == {"topic": "t", "url": expected}


def test_an_absolute_link_is_left_as_it_is(settings):
    settings.EVENTGUARD_BASE_URL = "https://guard.example.gov.cn"
    assert services.absolute_url("https://elsewhere.example/x") == "https://elsewhere.example/x"
    assert services.absolute_url("//elsewhere.example/x") == "//elsewhere.example/x"
    assert services.absolute_url("") == ""


def test_the_address_comes_from_the_environment_or_the_one_trusted_origin(monkeypatch):
    monkeypatch.setattr(settings_module, "CSRF_TRUSTED_ORIGINS", [])
    monkeypatch.setenv("EVENTGUARD_BASE_URL", " https://guard.example.gov.cn/ ")
    assert settings_module._base_url() == "https://guard.example.gov.cn"
    monkeypatch.setenv("EVENTGUARD_BASE_URL", "")
    assert settings_module._base_url() == ""
    monkeypatch.setattr(settings_module, "CSRF_TRUSTED_ORIGINS", ["https://guard.example.gov.cn"])
    assert settings_module._base_url() == "https://guard.example.gov.cn"
    # Two origins, or a wildcard: which one people open is not known.
    monkeypatch.setattr(
        settings_module, "CSRF_TRUSTED_ORIGINS", ["https://a.example", "https://b.example"]
    )
    assert settings_module._base_url() == ""
    monkeypatch.setattr(settings_module, "CSRF_TRUSTED_ORIGINS", ["https://*.example.gov.cn"])
    assert settings_module._base_url() == ""


@pytest.mark.parametrize(
    "value", ["guard.example.gov.cn", "ftp://guard.example.gov.cn", "https://"]
)
def test_an_address_without_scheme_or_host_stops_the_start(monkeypatch, value):
    monkeypatch.setenv("EVENTGUARD_BASE_URL", value)
    with pytest.raises(ImproperlyConfigured, match="EVENTGUARD_BASE_URL"):
        settings_module._base_url()


def test_check_warns_of_a_production_server_without_its_address(settings, capsys):
    settings.EMBEDDED = False
    settings.EVENTGUARD_BASE_URL = ""
    call_command("check")
    assert "EVENTGUARD_BASE_URL is not set" in capsys.readouterr().err
    settings.EVENTGUARD_BASE_URL = "https://guard.example.gov.cn"
    call_command("check")
    assert "EVENTGUARD_BASE_URL" not in capsys.readouterr().err
