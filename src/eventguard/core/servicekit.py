"""The spine every write service shares: check, validate, save, audit, publish.

with transaction.atomic():
    require(actor, CHANGE, obj)           # may this actor do it?
    changes = apply_changes(obj, fields)  # set only editable fields
    save_validated(obj, ...)              # full_clean() + save(update_fields=...)
    audit(...)                            # same transaction
    publish(...)                          # after commit
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.utils.translation import gettext as _


def apply_changes(obj: models.Model, changes: dict, *, editable: set[str]) -> list[str]:
    """Set the given fields on ``obj``; refuse any field that may not be edited.

    Returns the names of the fields whose value actually changed.
    """
    unknown = sorted(set(changes) - editable)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    changed = []
    for name, value in changes.items():
        field = obj._meta.get_field(name)
        attname = field.attname if isinstance(field, models.ForeignKey) else name
        current = getattr(obj, name)
        if isinstance(field, models.ForeignKey):
            if (current.pk if current is not None else None) == (
                value.pk if value is not None else None
            ):
                continue
        elif current == value:
            continue
        setattr(obj, name, value)
        changed.append(field.name if attname == name else name)
    return changed


def save_validated(
    obj: models.Model,
    *,
    update_fields: list[str] | None = None,
    exclude: list[str] | None = None,
    ask_database: bool = True,
) -> None:
    """``full_clean()`` then save; a database constraint that still fires becomes a
    ValidationError, never a half-written row.

    ``ask_database=False`` validates the fields without asking the database anything and
    leaves the unique and check constraints and the foreign keys to the database itself:
    for the system's own writes in bulk (the alarms of an ingest batch), where Django's
    checks would cost a query per constraint and per foreign key, for each row (seconds for
    a batch that touches a thousand alarms)."""
    if not ask_database:
        relations = [f.name for f in obj._meta.concrete_fields if f.is_relation]
        exclude = [*(exclude or []), *relations]
    obj.full_clean(exclude=exclude, validate_unique=ask_database, validate_constraints=ask_database)
    try:
        if update_fields is not None:
            auto_now = [f.name for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)]
            obj.save(update_fields=[*update_fields, *auto_now])
        else:
            obj.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("The record conflicts with an existing one: %(error)s") % {"error": exc}
        ) from exc


def error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as ``{field: [messages]}`` (``"__all__"`` for the whole record)."""
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errors for m in e] for field, errors in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}
