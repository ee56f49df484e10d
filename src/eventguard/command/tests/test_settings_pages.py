"""The command settings pages: escalation chains level by level and webhooks with their
delivery log; refusals name the field and write nothing; read-only for those who may only
read; another event's records are out of reach."""

import datetime as dt

import pytest
from django.utils import timezone, translation

from eventguard.command import services
from eventguard.command.models import EscalationLevel, Webhook, WebhookDelivery
from eventguard.core.models import AuditEntry, Domain
from eventguard.core.testing import client_for


def _url(event, rest=""):
    return f"/e/{event.code}/command/settings/{rest}"


def _chain(event, severity="critical"):
    return [
        (x.level, x.target, x.ack_within_seconds, x.remind_every_seconds)
        for x in EscalationLevel.objects.filter(event=event, severity=severity).order_by("level")
    ]


def _set_chain(p, severity="critical"):
    services.escalation_chain_set(
        actor=p.commander,
        event=p.event,
        severity=severity,
        levels=[
            {"target": "post_staff", "ack_within_seconds": 60, "remind_every_seconds": 60},
            {"target": "zone_supervisor", "ack_within_seconds": 120, "remind_every_seconds": 60},
            {"target": "commander", "ack_within_seconds": 300, "remind_every_seconds": 90},
        ],
    )


def _hook(p, **fields):
    return services.webhook_create(
        actor=p.commander,
        event=p.event,
        name=fields.pop("name", "Duty office"),
        url=fields.pop("url", "https://duty.example.org/hook"),
        **fields,
    )


# ---------------------------------------------------------------- escalation chains


def test_the_chains_page_shows_each_severity_with_its_levels_in_order(people):
    p = people
    _set_chain(p)
    page = client_for(p.commander).get(_url(p.event, "escalation/"))
    assert page.status_code == 200
    html = page.content.decode()
    critical = html[html.index('id="chain-critical"') : html.index('id="chain-major"')]
    assert critical.index("Post staff") < critical.index("Zone supervisor")
    assert critical.index("Zone supervisor") < critical.index("Commander")
    assert "1 min" in critical and "2 min" in critical and "1 min 30 s" in critical
    assert "Default chain" not in critical
    major = html[html.index('id="chain-major"') :]
    assert "Default chain" in major  # no chain of its own: the default one is shown
    assert "Add a level" in html


def test_the_settings_entry_of_the_menu_opens_the_chains(people):
    p = people
    client = client_for(p.commander)
    home = client.get(f"/e/{p.event.code}/command/").content.decode()
    assert "Command settings" in home
    page = client.get(_url(p.event), follow=True)
    assert page.redirect_chain[-1][0].endswith("/command/settings/escalation/")


def test_a_level_is_added_after_the_last_and_the_default_chain_becomes_the_events_own(people):
    p = people
    client = client_for(p.commander)
    response = client.post(
        _url(p.event, "escalation/major/add/"),
        {
            "level": 4,
            "target": "commander",
            "ack_within_seconds": 900,
            "remind_every_seconds": 600,
        },
    )
    assert response.status_code == 302
    assert _chain(p.event, "major") == [
        (1, "post_staff", 300, 300),
        (2, "zone_supervisor", 600, 300),
        (3, "commander", 600, 600),
        (4, "commander", 900, 600),
    ]
    assert AuditEntry.objects.filter(action="escalation_chain.set", actor=p.commander).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"level": 4, "ack_within_seconds": 0},
            "ack_within_seconds",
            "Acknowledge within (seconds): at least 10 seconds (given: 0).",
        ),
        (
            {"level": 4, "remind_every_seconds": -30},
            "remind_every_seconds",
            "Remind every (seconds): at least 10 seconds (given: -30).",
        ),
        (
            {"level": 2},
            "level",
            "Level 2 already exists in this chain: edit it, or add level 4.",
        ),
        ({"level": 7}, "level", "Levels follow on without gaps: the next one is 4."),
        ({"level": 4, "target": "mayor"}, "target", "Select a valid choice."),
        ({"level": 4, "ack_within_seconds": "soon"}, "ack_within_seconds", "whole number"),
    ],
)
def test_a_bad_level_is_refused_on_its_field_and_nothing_is_written(people, data, field, message):
    p = people
    _set_chain(p)
    before = _chain(p.event)
    audits = AuditEntry.objects.count()
    post = {
        "target": "commander",
        "ack_within_seconds": 300,
        "remind_every_seconds": 300,
        **data,
    }
    response = client_for(p.commander).post(_url(p.event, "escalation/critical/add/"), post)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in " ".join(response.context["form"].errors[field])
    assert message.split(" (")[0] in response.content.decode()
    assert _chain(p.event) == before
    assert AuditEntry.objects.count() == audits


def test_a_level_is_edited_moved_and_removed(people):
    p = people
    _set_chain(p)
    client = client_for(p.commander)
    form = client.get(_url(p.event, "escalation/critical/2/"))
    assert form.context["form"].initial["target"] == "zone_supervisor"
    bad = client.post(
        _url(p.event, "escalation/critical/2/"),
        {"target": "commander", "ack_within_seconds": 5, "remind_every_seconds": 60},
    )
    assert "ack_within_seconds" in bad.context["form"].errors
    assert _chain(p.event)[1] == (2, "zone_supervisor", 120, 60)

    client.post(
        _url(p.event, "escalation/critical/2/"),
        {"target": "zone_supervisor", "ack_within_seconds": 240, "remind_every_seconds": 60},
    )
    assert _chain(p.event)[1] == (2, "zone_supervisor", 240, 60)

    client.post(_url(p.event, "escalation/critical/3/move/"), {"to": 1})
    assert [t for _n, t, _a, _r in _chain(p.event)] == [
        "commander",
        "post_staff",
        "zone_supervisor",
    ]

    client.post(_url(p.event, "escalation/critical/2/remove/"))
    assert _chain(p.event) == [(1, "commander", 300, 90), (2, "zone_supervisor", 240, 60)]


def test_the_last_level_of_a_chain_cannot_be_removed(people):
    p = people
    services.escalation_chain_set(
        actor=p.commander,
        event=p.event,
        severity="warning",
        levels=[{"target": "post_staff", "ack_within_seconds": 60, "remind_every_seconds": 60}],
    )
    client = client_for(p.commander)
    page = client.post(_url(p.event, "escalation/warning/1/remove/"), follow=True)
    assert "A chain keeps at least one level" in page.content.decode()
    assert _chain(p.event, "warning") == [(1, "post_staff", 60, 60)]


def test_a_supervisor_reads_the_chains_but_may_not_change_them(people):
    p = people
    _set_chain(p)
    client = client_for(p.supervisor)
    page = client.get(_url(p.event, "escalation/"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Zone supervisor" in html
    assert "Add a level" not in html and "Remove" not in html
    assert client.get(_url(p.event, "escalation/critical/add/")).status_code == 403
    refused = client.post(
        _url(p.event, "escalation/critical/add/"),
        {"level": 4, "target": "commander", "ack_within_seconds": 60, "remind_every_seconds": 60},
    )
    assert refused.status_code == 403
    assert client.post(_url(p.event, "escalation/critical/1/remove/")).status_code == 403
    assert client.post(_url(p.event, "escalation/critical/3/move/"), {"to": 1}).status_code == 403
    assert len(_chain(p.event)) == 3
    assert _chain(p.event)[0][1] == "post_staff"


def test_an_exhibitor_sees_no_command_settings(people):
    client = client_for(people.exhibitor)
    assert client.get(_url(people.event, "escalation/")).status_code == 403
    assert client.get(_url(people.event, "webhooks/")).status_code == 403


def test_another_events_chain_is_out_of_reach(people):
    p = people
    client = client_for(p.other_commander)
    assert client.get(_url(p.event, "escalation/")).status_code == 404
    response = client.post(
        _url(p.event, "escalation/critical/add/"),
        {"level": 4, "target": "commander", "ack_within_seconds": 60, "remind_every_seconds": 60},
    )
    assert response.status_code == 404
    assert client.post(_url(p.event, "escalation/critical/1/remove/")).status_code == 404
    assert not EscalationLevel.objects.filter(event=p.event).exists()
    assert client.get(_url(p.event, "escalation/nonsense/add/")).status_code == 404


# ---------------------------------------------------------------- webhooks


def test_the_webhook_list_shows_filters_state_and_last_delivery(people):
    p = people
    hook = _hook(p, severities=["critical"], domains=["equipment"])
    _hook(p, name="Paused one", url="https://paused.example.org/")
    services.webhook_set_active(
        actor=p.commander, webhook=Webhook.objects.get(name="Paused one"), active=False
    )
    WebhookDelivery.objects.create(webhook=hook, topic="alarm.raised", body="{}", state="failed")
    page = client_for(p.commander).get(_url(p.event, "webhooks/"))
    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index("Duty office") : html.index("Paused one")]
    assert "https://duty.example.org/hook" in row
    assert "Critical" in row and str(Domain.EQUIPMENT.label) in row
    assert "Failed" in row and "1 failed" in row
    assert "Paused" in html[html.index("Paused one") :]
    assert hook.secret not in html


def test_a_webhook_is_created_and_its_secret_shown_once(people):
    p = people
    client = client_for(p.commander)
    response = client.post(
        _url(p.event, "webhooks/add/"),
        {
            "name": "Control room",
            "url": "https://control.example.org/in",
            "severities": ["critical", "major"],
        },
    )
    assert response.status_code == 200
    hook = Webhook.objects.get(event=p.event, name="Control room")
    assert hook.severities == ["critical", "major"] and hook.active
    assert len(hook.secret) == 64
    assert hook.secret in response.content.decode()
    assert "not shown again" in response.content.decode()
    assert hook.secret not in client.get(_url(p.event, "webhooks/")).content.decode()
    assert hook.secret not in client.get(_url(p.event, f"webhooks/{hook.pk}/")).content.decode()
    entry = AuditEntry.objects.get(action="webhook.create")
    assert hook.secret not in str(entry.after)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"name": "Duty office"}, "name", "This event already has a webhook named Duty office."),
        ({"name": ""}, "name", "This field is required."),
        ({"severities": ["apocalyptic"]}, "severities", "Select a valid choice."),
    ],
)
def test_a_bad_webhook_is_refused_on_its_field_and_nothing_is_written(people, data, field, message):
    p = people
    _hook(p)
    post = {"name": "Control room", "url": "https://control.example.org/in", **data}
    response = client_for(p.commander).post(_url(p.event, "webhooks/add/"), post)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Webhook.objects.filter(event=p.event).count() == 1


def test_a_webhook_is_edited_paused_reactivated_and_given_a_new_secret(people):
    p = people
    hook = _hook(p)
    old_secret = hook.secret
    client = client_for(p.commander)
    bad = client.post(
        _url(p.event, f"webhooks/{hook.pk}/"), {"name": "Duty office", "url": "ftp:/x"}
    )
    assert "url" in bad.context["form"].errors
    hook.refresh_from_db()
    assert hook.url == "https://duty.example.org/hook"

    client.post(
        _url(p.event, f"webhooks/{hook.pk}/"),
        {"name": "Duty office 2", "url": "https://new.example.org/", "domains": ["food"]},
    )
    hook.refresh_from_db()
    assert (hook.name, hook.url, hook.domains) == (
        "Duty office 2",
        "https://new.example.org/",
        ["food"],
    )
    assert hook.secret == old_secret

    client.post(_url(p.event, f"webhooks/{hook.pk}/active/"), {"active": "0"})
    hook.refresh_from_db()
    assert not hook.active
    client.post(_url(p.event, f"webhooks/{hook.pk}/active/"), {"active": "1"})
    hook.refresh_from_db()
    assert hook.active

    rotated = client.post(_url(p.event, f"webhooks/{hook.pk}/rotate/"))
    hook.refresh_from_db()
    assert hook.secret != old_secret and hook.secret in rotated.content.decode()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"webhook.update", "webhook.deactivate", "webhook.activate"} <= actions
    assert "webhook.rotate_secret" in actions
    assert not AuditEntry.objects.filter(after__icontains=hook.secret).exists()


def test_a_supervisor_reads_the_webhooks_but_may_not_change_them(people):
    p = people
    hook = _hook(p)
    client = client_for(p.supervisor)
    page = client.get(_url(p.event, "webhooks/"))
    assert page.status_code == 200
    assert "Duty office" in page.content.decode()
    assert "Add a webhook" not in page.content.decode()
    assert client.get(_url(p.event, "webhooks/add/")).status_code == 403
    assert (
        client.post(
            _url(p.event, "webhooks/add/"), {"name": "Mine", "url": "https://x.example.org/"}
        ).status_code
        == 403
    )
    assert (
        client.post(_url(p.event, f"webhooks/{hook.pk}/active/"), {"active": "0"}).status_code
        == 403
    )
    assert client.post(_url(p.event, f"webhooks/{hook.pk}/rotate/")).status_code == 403
    assert client.get(_url(p.event, f"webhooks/{hook.pk}/deliveries/")).status_code == 200
    hook.refresh_from_db()
    assert hook.active and Webhook.objects.filter(event=p.event).count() == 1


def test_another_events_webhook_is_out_of_reach(people):
    p = people
    theirs = services.webhook_create(
        actor=p.other_commander,
        event=p.other_event,
        name="Theirs",
        url="https://theirs.example.org/",
    )
    delivery = WebhookDelivery.objects.create(
        webhook=theirs, topic="alarm.raised", body="{}", state="failed"
    )
    client = client_for(p.commander)
    assert "Theirs" not in client.get(_url(p.event, "webhooks/")).content.decode()
    for url in (
        f"webhooks/{theirs.pk}/",
        f"webhooks/{theirs.pk}/deliveries/",
    ):
        assert client.get(_url(p.event, url)).status_code == 404
    for url in (
        f"webhooks/{theirs.pk}/active/",
        f"webhooks/{theirs.pk}/rotate/",
        f"webhooks/{theirs.pk}/deliveries/{delivery.pk}/retry/",
    ):
        assert client.post(_url(p.event, url), {"active": "0"}).status_code == 404
    assert client.get(_url(p.other_event, "webhooks/")).status_code == 404
    theirs.refresh_from_db()
    delivery.refresh_from_db()
    assert theirs.active and delivery.state == "failed"


def test_the_delivery_log_shows_each_attempt_and_a_failed_one_is_retried_now(people):
    p = people
    hook = _hook(p)
    at = timezone.now() - dt.timedelta(minutes=5)
    failed = WebhookDelivery.objects.create(
        webhook=hook,
        topic="alarm.escalated",
        body="{}",
        state="failed",
        attempt_count=2,
        attempts=[
            {"at": at.isoformat(), "status": 503, "error": "Service Unavailable"},
            {"at": at.isoformat(), "status": None, "error": "timed out"},
        ],
    )
    delivered = WebhookDelivery.objects.create(
        webhook=hook,
        topic="alarm.raised",
        body="{}",
        state="delivered",
        attempt_count=1,
        attempts=[{"at": at.isoformat(), "status": 200, "error": ""}],
        delivered_at=at,
    )
    client = client_for(p.commander)
    page = client.get(_url(p.event, f"webhooks/{hook.pk}/deliveries/"))
    html = page.content.decode()
    assert "alarm.escalated" in html and "alarm.raised" in html
    assert "503" in html and "Service Unavailable" in html and "timed out" in html
    assert "no answer" in html
    assert html.count("Retry now") == 1  # the delivered one offers none

    response = client.post(
        _url(p.event, f"webhooks/{hook.pk}/deliveries/{failed.pk}/retry/"), follow=True
    )
    assert "is due now" in response.content.decode()
    failed.refresh_from_db()
    assert failed.state == "pending" and failed.next_attempt_at <= timezone.now()
    assert AuditEntry.objects.filter(action="webhook.retry").count() == 1

    refused = client.post(
        _url(p.event, f"webhooks/{hook.pk}/deliveries/{delivered.pk}/retry/"), follow=True
    )
    assert "was delivered: nothing to retry" in refused.content.decode()
    delivered.refresh_from_db()
    assert delivered.state == "delivered"


def test_the_settings_pages_speak_chinese(people):
    p = people
    _hook(p)
    p.commander.language = "zh-hans"
    p.commander.save(update_fields=["language"])
    client = client_for(p.commander)
    with translation.override("zh-hans"):
        chains_title = translation.gettext("Escalation chains")
        hooks_title = translation.gettext("Add a webhook")
    assert chains_title != "Escalation chains" and hooks_title != "Add a webhook"
    chains = client.get(_url(p.event, "escalation/"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert chains_title in chains.content.decode()
    hooks = client.get(_url(p.event, "webhooks/"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert hooks_title in hooks.content.decode()
