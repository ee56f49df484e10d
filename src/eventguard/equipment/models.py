"""Special equipment: the registry, key guarantee units' testing, fixed posts, patrols and
the city-wide inspection campaign."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eventguard.core.access import ScopeSpec
from eventguard.core.models import Domain, Event, Unit, User, Zone


class EquipmentKind(models.TextChoices):
    ESCALATOR = "escalator", _("Escalator")
    LIFT = "lift", _("Lift")
    MOVING_WALK = "moving_walk", _("Moving walk")
    BOILER = "boiler", _("Boiler")
    PRESSURE_VESSEL = "pressure_vessel", _("Pressure vessel")
    PRESSURE_PIPING = "pressure_piping", _("Pressure piping")
    CRANE = "crane", _("Lifting appliance")
    AMUSEMENT_RIDE = "amusement_ride", _("Large amusement device")
    SITE_VEHICLE = "site_vehicle", _("Site motor vehicle")
    ROPEWAY = "ropeway", _("Passenger ropeway")


# Equipment that people ride: these have fixed posts and twice-daily patrols.
POSTED_KINDS = (EquipmentKind.ESCALATOR, EquipmentKind.LIFT, EquipmentKind.MOVING_WALK)


class TrafficLevel(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


EQUIPMENT_SCOPE = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone="zone", unit="user_unit")


class Equipment(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="equipment")
    code = models.CharField(_("equipment code"), max_length=40)
    registration_no = models.CharField(_("registration certificate no."), max_length=60, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=EquipmentKind.choices)
    model_name = models.CharField(_("make and model"), max_length=120, blank=True)
    zone = models.ForeignKey(
        Zone,
        verbose_name=_("zone"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="equipment",
    )
    floor = models.CharField(_("floor"), max_length=10, blank=True)
    position = models.CharField(_("position"), max_length=200, blank=True)
    # Where the equipment stands on its hall's floor plan, in percent of width and height.
    plan_x = models.DecimalField(
        _("plan x (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    plan_y = models.DecimalField(
        _("plan y (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    user_unit = models.ForeignKey(
        Unit, verbose_name=_("user unit"), on_delete=models.PROTECT, related_name="equipment_used"
    )
    maintenance_unit = models.ForeignKey(
        Unit,
        verbose_name=_("maintenance unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="equipment_maintained",
    )
    last_inspection_on = models.DateField(_("last periodic inspection"), null=True, blank=True)
    next_inspection_due = models.DateField(_("next inspection due"), null=True, blank=True)
    is_core_area = models.BooleanField(_("core area"), default=False)
    traffic_level = models.CharField(
        _("traffic level"), max_length=10, choices=TrafficLevel.choices, default=TrafficLevel.MEDIUM
    )
    is_active = models.BooleanField(_("in service"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = EQUIPMENT_SCOPE

    class Meta:
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"],
                name="equipment_equipment_unique_event_code",
                violation_error_message=_("Equipment with this code is already registered."),
            ),
            models.CheckConstraint(
                condition=Q(last_inspection_on__isnull=True)
                | Q(next_inspection_due__isnull=True)
                | Q(next_inspection_due__gte=F("last_inspection_on")),
                name="equipment_equipment_inspection_dates_in_order",
                violation_error_message=_(
                    "The next inspection cannot be due before the last inspection."
                ),
            ),
            models.CheckConstraint(
                condition=(Q(plan_x__isnull=True) | Q(plan_x__gte=0, plan_x__lte=100))
                & (Q(plan_y__isnull=True) | Q(plan_y__gte=0, plan_y__lte=100)),
                name="equipment_equipment_plan_position_in_range",
                violation_error_message=_("A position on the floor plan is between 0 and 100 %."),
            ),
        ]
        indexes = [models.Index(fields=["event", "kind"])]

    def __str__(self) -> str:
        return f"{self.code} {self.get_kind_display()}"

    def inspection_overdue(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.next_inspection_due is not None and self.next_inspection_due < today

    @property
    def is_posted_kind(self) -> bool:
        return self.kind in POSTED_KINDS


def posted_in_service(event: Event) -> models.QuerySet[Equipment]:
    """The event's lifts, escalators and moving walks in service: those with fixed posts and
    patrols (unordered: counted and matched far more often than listed)."""
    return Equipment.objects.filter(event=event, kind__in=POSTED_KINDS, is_active=True).order_by()


class EquipmentSettings(models.Model):
    """Per-event configuration of fixed posts and patrols, stored as data."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="equipment_settings")
    open_from = models.TimeField(_("venue opens at"), default=dt.time(9, 0))
    open_until = models.TimeField(_("venue closes at"), default=dt.time(18, 0))
    # [["09:00", "12:00"], ["14:00", "17:30"]]: one patrol of each lift and escalator per window.
    patrol_windows = models.JSONField(_("patrol windows"), default=list)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("equipment settings")
        verbose_name_plural = _("equipment settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(open_until__gt=F("open_from")),
                name="equipment_equipmentsettings_open_period_in_order",
                violation_error_message=_("The venue must close after it opens."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.code}"


DEFAULT_PATROL_WINDOWS = [["09:00", "12:00"], ["14:00", "17:30"]]


class GuaranteePhase(models.TextChoices):
    BEFORE = "before", _("Before the event")
    DURING = "during", _("During the event")


class GuaranteeRound(models.Model):
    """A round of guarantee testing of the key guarantee units (before or during the event)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="guarantee_rounds")
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    phase = models.CharField(_("phase"), max_length=10, choices=GuaranteePhase.choices)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    covers_equipment = models.BooleanField(
        _("each piece of equipment is tested"),
        default=True,
        help_text=_("Otherwise the round tests the unit as a whole."),
    )

    scope = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("guarantee testing round")
        verbose_name_plural = _("guarantee testing rounds")
        ordering = ["starts_on", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"], name="equipment_guaranteeround_unique_event_code"
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="equipment_guaranteeround_dates_in_order",
                violation_error_message=_("A round cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class GuaranteeResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FINDINGS = "findings", _("Passed with findings")
    FAILED = "failed", pgettext_lazy("test result", "Failed")


class GuaranteeTest(models.Model):
    """One guarantee test of a key guarantee unit, as a whole or of one piece of equipment."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="guarantee_tests")
    round = models.ForeignKey(
        GuaranteeRound, verbose_name=_("round"), on_delete=models.PROTECT, related_name="tests"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.PROTECT, related_name="guarantee_tests"
    )
    equipment = models.ForeignKey(
        Equipment,
        verbose_name=_("equipment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guarantee_tests",
    )
    tested_on = models.DateField(_("tested on"))
    result = models.CharField(_("result"), max_length=10, choices=GuaranteeResult.choices)
    findings = models.TextField(_("findings"), blank=True)
    tester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("tester"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    tester_name = models.CharField(_("tester"), max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone="unit__zone", unit="unit")

    class Meta:
        verbose_name = _("guarantee test")
        verbose_name_plural = _("guarantee tests")
        ordering = ["-tested_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "unit"],
                condition=Q(equipment__isnull=True),
                name="equipment_guaranteetest_unique_round_unit",
                violation_error_message=_("This unit already has a test in this round."),
            ),
            models.UniqueConstraint(
                fields=["round", "equipment"],
                condition=Q(equipment__isnull=False),
                name="equipment_guaranteetest_unique_round_equipment",
                violation_error_message=_("This equipment already has a test in this round."),
            ),
            models.CheckConstraint(
                condition=Q(result=GuaranteeResult.PASSED) | ~Q(findings=""),
                name="equipment_guaranteetest_findings_unless_passed",
                violation_error_message=_("Describe the findings of a test that did not pass."),
            ),
        ]
        indexes = [models.Index(fields=["event", "unit"])]

    def __str__(self) -> str:
        return f"{self.round} · {self.equipment or self.unit}"


POST_SCOPE = ScopeSpec(
    domain=Domain.EQUIPMENT, event="event", zone="equipment__zone", unit="equipment__user_unit"
)


class PostShift(models.Model):
    """A named person at the fixed post of one piece of equipment for a stretch of time."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="post_shifts")
    equipment = models.ForeignKey(
        Equipment, verbose_name=_("equipment"), on_delete=models.CASCADE, related_name="shifts"
    )
    person = models.ForeignKey(
        User, verbose_name=_("post staff"), on_delete=models.PROTECT, related_name="post_shifts"
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    signed_on_at = models.DateTimeField(_("signed on"), null=True, blank=True)
    signed_off_at = models.DateTimeField(_("signed off"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = POST_SCOPE

    class Meta:
        verbose_name = _("post shift")
        verbose_name_plural = _("post shifts")
        ordering = ["starts_at", "equipment__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment", "person", "starts_at"],
                name="equipment_postshift_unique_equipment_person_starts_at",
                violation_error_message=_("This person already has this shift at this post."),
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")),
                name="equipment_postshift_ends_after_start",
                violation_error_message=_("A shift must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(signed_off_at__isnull=True)
                | (Q(signed_on_at__isnull=False) & Q(signed_off_at__gte=F("signed_on_at"))),
                name="equipment_postshift_sign_off_after_sign_on",
                violation_error_message=_("Sign off comes after sign on."),
            ),
        ]
        indexes = [
            models.Index(fields=["event", "starts_at"]),
            models.Index(fields=["person", "starts_at"]),
        ]

    def __str__(self) -> str:
        starts = timezone.localtime(self.starts_at)
        return f"{self.equipment.code} · {self.person} · {starts:%m-%d %H:%M}"


class ChecklistTemplate(models.Model):
    """A versioned patrol checklist; publishing a change adds a version, patrols keep theirs."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="patrol_checklists")
    code = models.SlugField(_("code"), max_length=40)
    version = models.PositiveIntegerField(_("version"))
    name_zh = models.CharField(_("name (Chinese)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100, blank=True)
    kinds = models.JSONField(_("equipment kinds"), default=list)
    # [{"code": "doors", "text_zh": "...", "text_en": "..."}, ...]
    items = models.JSONField(_("items"), default=list)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("patrol checklist")
        verbose_name_plural = _("patrol checklists")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code", "version"],
                name="equipment_checklisttemplate_unique_event_code_version",
            ),
        ]

    def __str__(self) -> str:
        from django.utils.translation import get_language

        name = self.name_en if (get_language() or "").startswith("en") and self.name_en else ""
        return f"{name or self.name_zh} v{self.version}"

    def item_text(self, item: dict) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and item.get("text_en"):
            return item["text_en"]
        return item.get("text_zh") or item.get("text_en", "")


class PatrolStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class Answer(models.TextChoices):
    OK = "ok", _("OK")
    FAULT = "fault", pgettext_lazy("inspection answer", "Fault")
    NOT_APPLICABLE = "na", _("Not applicable")


class Patrol(models.Model):
    """One patrol of one piece of equipment in one window of one day."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="patrols")
    equipment = models.ForeignKey(
        Equipment, verbose_name=_("equipment"), on_delete=models.CASCADE, related_name="patrols"
    )
    day = models.DateField(_("day"))
    window_start = models.DateTimeField(_("window starts"))
    window_end = models.DateTimeField(_("window ends"))
    planned = models.BooleanField(_("planned"), default=True)
    status = models.CharField(
        _("status"), max_length=12, choices=PatrolStatus.choices, default=PatrolStatus.PLANNED
    )
    checklist = models.ForeignKey(
        ChecklistTemplate,
        verbose_name=_("checklist"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patrols",
    )
    performed_by = models.ForeignKey(
        User,
        verbose_name=_("performed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patrols",
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = POST_SCOPE

    class Meta:
        verbose_name = _("patrol")
        verbose_name_plural = _("patrols")
        ordering = ["-window_start", "equipment__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["equipment", "window_start"],
                name="equipment_patrol_unique_equipment_window_start",
                violation_error_message=_("This equipment already has a patrol in this window."),
            ),
            models.CheckConstraint(
                condition=Q(window_end__gt=F("window_start")),
                name="equipment_patrol_window_in_order",
            ),
            models.CheckConstraint(
                condition=~Q(status=PatrolStatus.COMPLETED)
                | (
                    Q(completed_at__isnull=False)
                    & Q(performed_by__isnull=False)
                    & Q(checklist__isnull=False)
                ),
                name="equipment_patrol_completed_has_time_person_checklist",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "status", "window_end"]),
            models.Index(fields=["event", "day"]),
            # Covers the patrols-per-day figure: completed patrols by equipment and day.
            models.Index(
                fields=["event", "status", "day", "equipment"], name="equipment_patrol_daily_idx"
            ),
            # The patrols under way, which the command dashboard marks on every poll: a few
            # among the tens of thousands of a venue's event, found without reading the rest.
            models.Index(
                fields=["event", "equipment"],
                condition=Q(started_at__isnull=False, completed_at__isnull=True),
                name="equipment_patrol_under_way",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.equipment.code} · {timezone.localtime(self.window_start):%Y-%m-%d %H:%M}"

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status != PatrolStatus.COMPLETED and self.window_end < now


class Campaign(models.Model):
    """A city-wide inspection campaign of special equipment, counted since a date."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="equipment_campaigns")
    code = models.SlugField(_("code"), max_length=40)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    since = models.DateField(_("since"))

    scope = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("inspection campaign")
        verbose_name_plural = _("inspection campaigns")
        ordering = ["since", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"], name="equipment_campaign_unique_event_code"
            ),
        ]

    def __str__(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class CampaignRecord(models.Model):
    """What the campaign inspected in one district over one period."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="campaign_records")
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="records"
    )
    district = models.CharField(_("district"), max_length=60)
    period_start = models.DateField(_("from"))
    period_end = models.DateField(_("to"))
    units_inspected = models.PositiveIntegerField(_("units inspected"))
    equipment_sets = models.PositiveIntegerField(_("equipment sets inspected"))
    notes = models.CharField(_("notes"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=Domain.EQUIPMENT, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("campaign record")
        verbose_name_plural = _("campaign records")
        ordering = ["-period_start", "district"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "district", "period_start"],
                name="equipment_campaignrecord_unique_campaign_district_period_start",
                violation_error_message=_(
                    "This district already has a record for this period of the campaign."
                ),
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")),
                name="equipment_campaignrecord_period_in_order",
                violation_error_message=_("A period cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.district} {self.period_start}–{self.period_end}"
