"""What devices and alarms can be about: a registry of subject kinds.

Telemetry and alerts stand above the domains and may not import them. A device reports
on, and an alarm is about, a *subject*: a record of any domain named by its kind's
label (``"equipment.equipment"``, ``"coldchain.box"``, ``"core.unit"``) and its primary
key. Each domain registers its subject kinds here (from its ``AppConfig.ready()``),
saying how a record reaches its event, zone and owning unit; devices and alarms keep
those denormalised so that scoping needs no join into the domain's tables.

A domain registers, for example::

    from eventguard.core import subjects

    subjects.register(
        "equipment.equipment",
        verbose_name=_("equipment"),
        domain="equipment",
        zone="zone",
        unit="user_unit",
        device_kind=lambda e: {"lift": "lift_controller",
                               "escalator": "escalator_controller"}.get(e.kind),
    )

``device_kind`` (optional) names the kind of device that monitors a record, or None
when none does; the reference scenario instruments the records of every registered
kind that has one (a ``sample`` share of them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@dataclass(frozen=True)
class SubjectKind:
    label: str  # "<app_label>.<model_name>", lower case
    verbose_name: Promise | str
    domain: str | Callable[[Model], str]  # a Domain value, or a function of the record
    event: str = "event"  # path from the record to its Event ("pk" for an event)
    zone: str | None = "zone"  # path to its Zone; None: not placed in zones
    unit: str | None = "unit"  # path to its owning Unit ("pk" for a unit); None: no owner
    device_kind: Callable[[Model], str | None] | None = None
    sample: float = 1.0  # share of records the reference scenario instruments
    url: Callable[[Model], str] | None = None  # a page showing the record

    @property
    def model(self) -> type[Model]:
        return apps.get_model(self.label)

    def records(self, event) -> QuerySet:
        """The kind's records in ``event``."""
        path = "pk" if self.event == "pk" else f"{self.event}__pk"
        return self.model._default_manager.filter(**{path: event.pk})


@dataclass(frozen=True)
class SubjectRef:
    """A subject reduced to what devices and alarms keep of it."""

    type: str
    id: int
    event_id: int
    zone_id: int | None
    unit_id: int | None
    domain: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"


_kinds: dict[str, SubjectKind] = {}


def register(
    label: str,
    *,
    verbose_name: Promise | str,
    domain: str | Callable[[Model], str],
    event: str = "event",
    zone: str | None = "zone",
    unit: str | None = "unit",
    device_kind: Callable[[Model], str | None] | None = None,
    sample: float = 1.0,
    url: Callable[[Model], str] | None = None,
) -> SubjectKind:
    kind = SubjectKind(
        label.lower(), verbose_name, domain, event, zone, unit, device_kind, sample, url
    )
    _kinds[kind.label] = kind
    return kind


def unregister(label: str) -> None:
    _kinds.pop(label.lower(), None)


def kinds() -> list[SubjectKind]:
    return sorted(_kinds.values(), key=lambda k: k.label)


def kind(label: str) -> SubjectKind | None:
    return _kinds.get((label or "").lower())


def is_registered(label: str) -> bool:
    return kind(label) is not None


def _attr(obj, path: str | None):
    if path is None:
        return None
    if path == "pk":
        return obj
    value = obj
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


def _id_at(obj, path: str | None) -> int | None:
    """The primary key at ``path``, without loading the related row for a plain FK."""
    if path is None:
        return None
    if path == "pk":
        return obj.pk
    if "__" not in path:
        attname = f"{path}_id"
        if hasattr(obj, attname):
            return getattr(obj, attname)
    related = _attr(obj, path)
    return related.pk if related is not None else None


def ref_for(obj: Model) -> SubjectRef:
    """The reference to a record of a registered kind."""
    label = obj._meta.label_lower
    spec = kind(label)
    if spec is None:
        raise ValidationError(
            {"subject": _("Records of kind “%(kind)s” cannot be a subject.") % {"kind": label}}
        )
    domain = spec.domain(obj) if callable(spec.domain) else spec.domain
    from django.conf import settings

    with translation.override(settings.LANGUAGE_CODE):
        name = str(obj)
    return SubjectRef(
        type=label,
        id=obj.pk,
        event_id=_id_at(obj, spec.event),
        zone_id=_id_at(obj, spec.zone),
        unit_id=_id_at(obj, spec.unit),
        domain=str(domain),
        name=name[:200],
    )


def get_record(label: str, pk) -> Model:
    """The record a subject reference names; ValidationError when there is none."""
    spec = kind(label)
    if spec is None:
        raise ValidationError(
            {"subject": _("Unknown kind of subject “%(kind)s”.") % {"kind": label}}
        )
    obj = spec.model._default_manager.filter(pk=pk).first()
    if obj is None:
        raise ValidationError(
            {"subject": _("No %(kind)s with id %(id)s.") % {"kind": spec.verbose_name, "id": pk}}
        )
    return obj


def resolve(label: str, pk) -> SubjectRef:
    return ref_for(get_record(label, pk))


def parse_key(key: str) -> tuple[str, int]:
    """``"equipment.equipment:12"`` -> ``("equipment.equipment", 12)``."""
    label, sep, pk = (key or "").rpartition(":")
    if not sep or not label or not pk.isdigit():
        raise ValidationError({"subject": _("Name a subject as <kind>:<id>, e.g. core.unit:12.")})
    return label.lower(), int(pk)


def url_for(label: str, pk) -> str:
    spec = kind(label)
    if spec is None or spec.url is None:
        return ""
    obj = spec.model._default_manager.filter(pk=pk).first()
    return spec.url(obj) if obj is not None else ""


# A supervised unit is always a valid subject (a warehouse, a kitchen, a hotel).
register(
    "core.unit",
    verbose_name=gettext_lazy("unit"),
    domain=lambda unit: unit.category.domain,
    zone="zone",
    unit="pk",
)
