"""The hash-chained audit trail: every write leaves an entry; any edit of the past is named."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from eventguard.core import services
from eventguard.core.audit import audit_verify
from eventguard.core.context import request_id_var
from eventguard.core.models import AuditEntry, UnitCategory
from eventguard.core.testing import make_event, make_member, make_unit


def test_each_write_appends_an_entry_with_before_and_after():
    event = make_event()
    admin = make_member(event, "admin")
    unit = make_unit(event, name_zh="老名字")
    token = request_id_var.set("req-42")
    try:
        services.unit_update(actor=admin, unit=unit, name_zh="新名字")
    finally:
        request_id_var.reset(token)
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "unit.update"
    assert entry.actor == admin
    assert entry.actor_name == admin.username
    assert entry.object_id == str(unit.pk)
    assert entry.event_code == event.code
    assert entry.before["name_zh"] == "老名字"
    assert entry.after["name_zh"] == "新名字"
    assert entry.request_id == "req-42"


def test_a_refused_write_leaves_no_entry_and_no_row():
    event = make_event()
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError):
        services.unit_create(
            actor=None,
            event=event,
            category=UnitCategory.objects.get(code="reception_hotel"),
            name_zh="坏代码",
            credit_code="91310000MA1FL1MMXA",
        )
    assert AuditEntry.objects.count() == before
    assert not event.units.exists()


def test_chain_verifies_and_names_an_altered_entry():
    event = make_event()
    for _ in range(5):
        make_unit(event)
    result = audit_verify()
    assert result.ok and result.checked == AuditEntry.objects.count()
    victim = AuditEntry.objects.order_by("seq")[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET object_repr = %s WHERE id = %s", ["forged", victim.pk]
        )
    result = audit_verify()
    assert not result.ok
    assert result.entry_seq == victim.seq
    assert f"#{victim.seq}" in result.problem and "altered" in result.problem


def test_a_deleted_entry_is_named_as_missing():
    event = make_event()
    for _ in range(3):
        make_unit(event)
    victim = AuditEntry.objects.order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [victim.pk])
    result = audit_verify()
    assert not result.ok
    assert f"#{victim.seq} is missing" in result.problem


def test_removing_the_newest_entries_is_detected():
    event = make_event()
    make_unit(event)
    last = AuditEntry.objects.order_by("-seq").first()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE id = %s", [last.pk])
    result = audit_verify()
    assert not result.ok
    assert "removed" in result.problem


def test_rewriting_an_entry_and_its_hash_breaks_the_link_to_the_next():
    event = make_event()
    for _ in range(3):
        make_unit(event)
    from eventguard.core.audit import entry_hash

    victim = AuditEntry.objects.order_by("seq")[1]
    victim.object_repr = "forged"
    new_hash = entry_hash(victim)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET object_repr = %s, hash = %s WHERE id = %s",
            ["forged", new_hash, victim.pk],
        )
    result = audit_verify()
    assert not result.ok
    assert result.entry_seq == victim.seq + 1
    assert "does not link" in result.problem
