"""The ground floor: events, zones, units, people and their roles, the audit chain."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .access import ScopeSpec
from .credit_code import validate_credit_code


class Domain(models.TextChoices):
    REGISTRY = "registry", _("Registry")
    COLDCHAIN = "coldchain", _("Cold chain")
    FOOD = "food", _("Food safety")
    EQUIPMENT = "equipment", _("Special equipment")
    HAZARDS = "hazards", _("Dual prevention")
    PERMITS = "permits", _("Permits and exemptions")
    MONITORING = "monitoring", _("Monitoring and command")
    AUDIT = "audit", _("Audit trail")


class Role(models.TextChoices):
    COMMANDER = "commander", _("Commander")
    SUPERVISOR = "supervisor", _("Supervisor")
    INSPECTOR = "inspector", _("Inspector")
    POST_STAFF = "post_staff", _("Post staff")
    UNIT_OPERATOR = "unit_operator", _("Unit operator")
    EXHIBITOR = "exhibitor", _("Exhibitor")
    AUDITOR = "auditor", _("Auditor")
    ADMIN = "admin", _("Administrator")


OWN_UNIT_ROLES = (Role.UNIT_OPERATOR, Role.EXHIBITOR)


class BilingualNameMixin:
    """Records named in both languages show the name of the active language."""

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh or self.name_en


def name_columns(relation: str) -> tuple[str, str]:
    """The columns the ``name`` of a bilingual record reached through ``relation`` is read
    from, for a query's ``only()``: ``name_columns("zone")`` -> zone__name_zh, zone__name_en."""
    return f"{relation}__name_zh", f"{relation}__name_en"


class User(AbstractUser):
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    organisation = models.CharField(_("organisation"), max_length=200, blank=True)
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )
    # A new value whenever what the person may see changes (a role assigned or revoked, a
    # zone of theirs moved, their event changed), in the same transaction: each server
    # process keeps a person's grants under it and reads them afresh when it differs
    # (core/access.py).
    access_stamp = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # A person read before their access changed and saved whole afterwards (Django's
        # ``changepassword`` after its prompt, a shell session) would write back the old
        # stamp, under which other processes may still keep the grants of before. Only
        # ``access.access_changed`` writes the stamp of an existing person.
        if (
            not args
            and kwargs.get("update_fields") is None
            and not kwargs.get("force_insert")
            and not self._state.adding
            and self.pk is not None
        ):
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                f.attname
                for f in self._meta.concrete_fields
                if not f.primary_key and f.attname != "access_stamp" and f.attname not in deferred
            ]
        super().save(*args, **kwargs)


class Event(BilingualNameMixin, models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    preparation_start = models.DateField(_("preparation starts"))
    opening = models.DateField(_("opening"))
    closing = models.DateField(_("closing"))
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=Domain.REGISTRY, event="pk", unit=None, zone=None)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-opening", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(preparation_start__lte=F("opening")) & Q(opening__lte=F("closing")),
                name="core_event_phases_in_order",
                violation_error_message=_(
                    "Phases must be in order: preparation start, opening, closing."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ZoneKind(models.TextChoices):
    VENUE = "venue", _("Venue")
    HALL = "hall", _("Hall")
    ZONE = "zone", _("Zone")
    AREA = "area", _("Area")


ZONE_KIND_DEPTH = {ZoneKind.VENUE: 0, ZoneKind.HALL: 1, ZoneKind.ZONE: 2, ZoneKind.AREA: 3}


class Zone(BilingualNameMixin, models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="zones")
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ZoneKind.choices)
    code = models.SlugField(_("code"), max_length=50)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    # Materialised path "/<id>/<id>/" maintained by the zone services; scoping by a
    # zone means "this zone and everything under it", a prefix match on this column.
    path = models.CharField(max_length=255, editable=False, db_index=True, default="")
    is_core_area = models.BooleanField(_("core area"), default=False)

    scope = ScopeSpec(domain=Domain.REGISTRY, event="event", zone="", unit=None)

    class Meta:
        verbose_name = _("zone")
        verbose_name_plural = _("zones")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="core_zone_unique_event_code"),
        ]

    def __str__(self) -> str:
        return self.name


class UnitCategory(BilingualNameMixin, models.Model):
    """The managed list of kinds of supervised unit."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    sort_order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unit category")
        verbose_name_plural = _("unit categories")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Unit(BilingualNameMixin, models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="units")
    category = models.ForeignKey(
        UnitCategory, verbose_name=_("category"), on_delete=models.PROTECT, related_name="units"
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, validators=[validate_credit_code]
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    zone = models.ForeignKey(
        Zone,
        verbose_name=_("zone"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="units",
    )
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(
        domain_path="category__domain",
        event="event",
        zone="zone",
        unit="pk",
        change_domain=Domain.REGISTRY,
    )

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["category__sort_order", "name_zh"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "category", "credit_code"],
                name="core_unit_unique_event_category_credit_code",
                violation_error_message=_(
                    "A unit of this category with this credit code is already registered."
                ),
            ),
        ]
        indexes = [models.Index(fields=["event", "category"])]

    def __str__(self) -> str:
        return self.name


class RoleAssignment(models.Model):
    """A person's role in one event, narrowed to zones and domains (empty = all)."""

    user = models.ForeignKey(
        User, verbose_name=_("person"), on_delete=models.CASCADE, related_name="assignments"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="assignments")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    zones = models.ManyToManyField(Zone, verbose_name=_("zones"), blank=True)
    domains = models.JSONField(_("domains"), default=list, blank=True)
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("own unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assignments",
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=Domain.REGISTRY, event="event", zone=None, unit="unit")

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["event", "role", "user__username"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role__in=OWN_UNIT_ROLES) & Q(unit__isnull=False))
                | (~Q(role__in=OWN_UNIT_ROLES) & Q(unit__isnull=True)),
                name="core_roleassignment_unit_iff_own_unit_role",
                violation_error_message=_(
                    "Unit operators and exhibitors must be tied to a unit; other roles must not."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "event", "role"],
                name="core_roleassignment_unique_user_event_role",
                violation_error_message=_("This person already has this role in this event."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.event.code}"


class ApiToken(models.Model):
    """An API bearer token. Only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"


class LoginFailure(models.Model):
    username = models.CharField(max_length=150, db_index=True)
    address = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.username}@{self.address} {self.at:%Y-%m-%d %H:%M:%S}"


class AuditHead(models.Model):
    """One row: the end of the audit chain. Locked by every writer so the chain stays linear."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"


class AuditEntry(models.Model):
    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(_("actor"), max_length=150)
    event_code = models.CharField(_("event"), max_length=50, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=100, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    scope = ScopeSpec(domain=Domain.AUDIT, event="", zone=None, unit=None, event_field="event_code")

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_repr}"


class ScenarioStep(models.Model):
    """Marks a step of a scenario load as complete, so a rerun skips it."""

    scenario = models.CharField(max_length=50)
    event_code = models.CharField(max_length=50)
    step = models.CharField(max_length=50)
    scale = models.FloatField()
    seed = models.IntegerField()
    completed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event_code", "step"], name="core_scenariostep_unique_event_step"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scenario}/{self.event_code}/{self.step}"
