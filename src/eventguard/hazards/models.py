"""Dual prevention: risk points graded by LEC, and hidden dangers through their closed loop."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eventguard.core.access import ScopeSpec
from eventguard.core.models import Domain, Event, Unit, User, Zone

# ---------------------------------------------------------------- LEC method


def _d(value: str) -> Decimal:
    return Decimal(value)


# The value tables of the LEC method (likelihood, exposure, consequence).
LIKELIHOOD_CHOICES = [
    (_d("10"), _("10 · expected, quite likely")),
    (_d("6"), _("6 · quite possible")),
    (_d("3"), _("3 · unusual but possible")),
    (_d("1"), _("1 · remotely possible")),
    (_d("0.5"), _("0.5 · conceivable but very unlikely")),
    (_d("0.2"), _("0.2 · practically impossible")),
    (_d("0.1"), _("0.1 · virtually impossible")),
]
EXPOSURE_CHOICES = [
    (_d("10"), _("10 · continuous")),
    (_d("6"), _("6 · daily during working hours")),
    (_d("3"), _("3 · weekly, or now and then")),
    (_d("2"), _("2 · monthly")),
    (_d("1"), _("1 · a few times a year")),
    (_d("0.5"), _("0.5 · very rarely")),
]
CONSEQUENCE_CHOICES = [
    (_d("100"), _("100 · catastrophe, many deaths")),
    (_d("40"), _("40 · disaster, several deaths")),
    (_d("15"), _("15 · very serious, one death")),
    (_d("7"), _("7 · serious, grave injury")),
    (_d("3"), _("3 · important, disabling injury")),
    (_d("1"), _("1 · noticeable, first aid")),
]
LIKELIHOOD_VALUES = [v for v, _label in LIKELIHOOD_CHOICES]
EXPOSURE_VALUES = [v for v, _label in EXPOSURE_CHOICES]
CONSEQUENCE_VALUES = [v for v, _label in CONSEQUENCE_CHOICES]


class RiskGrade(models.TextChoices):
    RED = "red", _("Red · major")
    ORANGE = "orange", _("Orange · significant")
    YELLOW = "yellow", _("Yellow · general")
    BLUE = "blue", _("Blue · low")


GRADE_SEVERITY = {RiskGrade.RED: 4, RiskGrade.ORANGE: 3, RiskGrade.YELLOW: 2, RiskGrade.BLUE: 1}

DEFAULT_RED_ABOVE = Decimal("160")
DEFAULT_ORANGE_FROM = Decimal("70")
DEFAULT_YELLOW_FROM = Decimal("20")


class RiskGrading(models.Model):
    """The grade bands of one event: red when D > red_above, orange when D >= orange_from,
    yellow when D >= yellow_from, blue below."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="risk_grading")
    red_above = models.DecimalField(
        _("red when D is above"), max_digits=9, decimal_places=2, default=DEFAULT_RED_ABOVE
    )
    orange_from = models.DecimalField(
        _("orange when D is at least"), max_digits=9, decimal_places=2, default=DEFAULT_ORANGE_FROM
    )
    yellow_from = models.DecimalField(
        _("yellow when D is at least"), max_digits=9, decimal_places=2, default=DEFAULT_YELLOW_FROM
    )
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain=Domain.HAZARDS, event="event", zone=None, unit=None)

    class Meta:
        verbose_name = _("risk grade bands")
        verbose_name_plural = _("risk grade bands")
        constraints = [
            models.CheckConstraint(
                condition=Q(red_above__gte=F("orange_from"))
                & Q(orange_from__gt=F("yellow_from"))
                & Q(yellow_from__gt=0),
                name="hazards_riskgrading_thresholds_in_order",
                violation_error_message=_(
                    "The bands must rise: 0 < yellow from < orange from <= red above."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event.code}: >{self.red_above} / ≥{self.orange_from} / ≥{self.yellow_from}"

    def grade_for(self, score: Decimal) -> str:
        if score > self.red_above:
            return RiskGrade.RED
        if score >= self.orange_from:
            return RiskGrade.ORANGE
        if score >= self.yellow_from:
            return RiskGrade.YELLOW
        return RiskGrade.BLUE


class RiskDomain(models.TextChoices):
    EQUIPMENT = "equipment", _("Special equipment")
    FOOD = "food", _("Food safety")
    COLDCHAIN = "coldchain", _("Cold chain")
    VENUE = "venue", _("Venue and crowds")


class RiskPoint(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="risk_points")
    code = models.SlugField(_("code"), max_length=40)
    title = models.CharField(_("risk point"), max_length=200)
    domain = models.CharField(
        _("area of work"), max_length=20, choices=RiskDomain.choices, default=RiskDomain.EQUIPMENT
    )
    hazard_description = models.TextField(_("hazard description"))
    zone = models.ForeignKey(
        Zone,
        verbose_name=_("zone"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risk_points",
    )
    responsible_unit = models.ForeignKey(
        Unit,
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risk_points",
    )
    equipment = models.ForeignKey(
        "equipment.Equipment",
        verbose_name=_("equipment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risk_points",
    )
    likelihood = models.DecimalField(
        _("likelihood (L)"), max_digits=4, decimal_places=1, choices=LIKELIHOOD_CHOICES
    )
    exposure = models.DecimalField(
        _("exposure (E)"), max_digits=4, decimal_places=1, choices=EXPOSURE_CHOICES
    )
    consequence = models.DecimalField(
        _("consequence (C)"), max_digits=4, decimal_places=1, choices=CONSEQUENCE_CHOICES
    )
    score = models.DecimalField(_("risk score (D)"), max_digits=9, decimal_places=2)
    grade = models.CharField(_("grade"), max_length=10, choices=RiskGrade.choices)
    control_measures = models.TextField(_("control measures"), blank=True)
    responsible_person = models.ForeignKey(
        User,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risk_points",
    )
    review_on = models.DateField(_("review date"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    scope = ScopeSpec(domain=Domain.HAZARDS, event="event", zone="zone", unit="responsible_unit")

    class Meta:
        verbose_name = _("risk point")
        verbose_name_plural = _("risk points")
        ordering = ["-score", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "code"],
                name="hazards_riskpoint_unique_event_code",
                violation_error_message=_("A risk point with this code already exists."),
            ),
            models.CheckConstraint(
                condition=Q(likelihood__in=LIKELIHOOD_VALUES),
                name="hazards_riskpoint_likelihood_in_table",
            ),
            models.CheckConstraint(
                condition=Q(exposure__in=EXPOSURE_VALUES),
                name="hazards_riskpoint_exposure_in_table",
            ),
            models.CheckConstraint(
                condition=Q(consequence__in=CONSEQUENCE_VALUES),
                name="hazards_riskpoint_consequence_in_table",
            ),
            models.CheckConstraint(
                condition=Q(grade__in=RiskGrade.values), name="hazards_riskpoint_grade_valid"
            ),
        ]
        indexes = [models.Index(fields=["event", "grade"])]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def has_owner_and_measure(self) -> bool:
        return self.responsible_person_id is not None and bool(self.control_measures.strip())


# ---------------------------------------------------------------- hidden dangers


class HazardStatus(models.TextChoices):
    REPORTED = "reported", _("Reported")
    ASSIGNED = "assigned", pgettext_lazy("hazard status", "Assigned")
    RECTIFIED = "rectified", _("Rectified")
    CLOSED = "closed", pgettext_lazy("hazard status", "Closed")


OPEN_STATUSES = (HazardStatus.REPORTED, HazardStatus.ASSIGNED, HazardStatus.RECTIFIED)


class HazardGrade(models.TextChoices):
    GENERAL = "general", _("General")
    MAJOR = "major", pgettext_lazy("hazard grade", "Major")


class HazardSource(models.TextChoices):
    PATROL = "patrol", _("Patrol")
    INSPECTION = "inspection", _("Inspection")
    ALARM = "alarm", _("Alarm")
    MANUAL = "manual", _("Reported by hand")


HAZARD_SCOPE = ScopeSpec(domain=Domain.HAZARDS, event="event", zone="zone", unit="unit")


class Hazard(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="hazards")
    title = models.CharField(_("hidden danger"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    grade = models.CharField(
        _("grade"), max_length=10, choices=HazardGrade.choices, default=HazardGrade.GENERAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=HazardStatus.choices, default=HazardStatus.REPORTED
    )
    source = models.CharField(
        _("source"), max_length=12, choices=HazardSource.choices, default=HazardSource.MANUAL
    )
    # What it came from, e.g. "patrol:123" or "alarm:55".
    source_ref = models.CharField(_("source reference"), max_length=60, blank=True, db_index=True)
    zone = models.ForeignKey(
        Zone,
        verbose_name=_("zone"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    unit = models.ForeignKey(
        Unit,
        verbose_name=_("responsible unit"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    equipment = models.ForeignKey(
        "equipment.Equipment",
        verbose_name=_("equipment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    risk_point = models.ForeignKey(
        RiskPoint,
        verbose_name=_("risk point"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards",
    )
    reported_by = models.ForeignKey(
        User,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported"))
    assignee = models.ForeignKey(
        User,
        verbose_name=_("responsible person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazards_assigned",
    )
    measure = models.TextField(_("rectification measure"), blank=True)
    deadline = models.DateTimeField(
        pgettext_lazy("rectification", "deadline"), null=True, blank=True
    )
    rectified_at = models.DateTimeField(_("rectified"), null=True, blank=True)
    rectification_note = models.TextField(_("rectification evidence"), blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    rejections = models.PositiveSmallIntegerField(_("rejections"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    scope = HAZARD_SCOPE

    class Meta:
        verbose_name = _("hidden danger")
        verbose_name_plural = _("hidden dangers")
        ordering = ["-reported_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=HazardStatus.REPORTED)
                | (Q(assignee__isnull=False) & Q(deadline__isnull=False) & ~Q(measure="")),
                name="hazards_hazard_assigned_has_owner_measure_deadline",
                violation_error_message=_(
                    "A hidden danger past reporting needs a responsible person, a measure and a "
                    "deadline."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[HazardStatus.RECTIFIED, HazardStatus.CLOSED])
                | (Q(rectified_at__isnull=False) & ~Q(rectification_note="")),
                name="hazards_hazard_rectified_has_evidence",
                violation_error_message=_("A rectified hidden danger needs its evidence."),
            ),
            models.CheckConstraint(
                condition=Q(status=HazardStatus.CLOSED, closed_at__isnull=False)
                | (~Q(status=HazardStatus.CLOSED) & Q(closed_at__isnull=True)),
                name="hazards_hazard_closed_iff_closed_at",
            ),
            models.CheckConstraint(
                condition=Q(status__in=HazardStatus.values), name="hazards_hazard_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["event", "status"]),
            models.Index(fields=["event", "deadline"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def code(self) -> str:
        return f"YH-{self.pk:05d}" if self.pk else "YH-new"

    @property
    def is_open(self) -> bool:
        return self.status != HazardStatus.CLOSED

    def is_overdue(self, now=None) -> bool:
        """Open and past its deadline (a rectification made in time is not overdue)."""
        now = now or timezone.now()
        if not self.is_open or self.deadline is None or self.deadline >= now:
            return False
        return not (
            self.status == HazardStatus.RECTIFIED
            and self.rectified_at is not None
            and self.rectified_at <= self.deadline
        )


def overdue_q(now) -> Q:
    """The database form of :meth:`Hazard.is_overdue`."""
    rectified_in_time = Q(
        status=HazardStatus.RECTIFIED, rectified_at__isnull=False, rectified_at__lte=F("deadline")
    )
    return Q(status__in=OPEN_STATUSES, deadline__lt=now) & ~rectified_in_time


STEP_LABELS = {
    "report": _("Reported"),
    "assign": pgettext_lazy("hazard step", "Assigned"),
    "rectify": _("Rectified"),
    "accept": pgettext_lazy("hazard step", "Accepted"),
    "reject": _("Rejected"),
}


class HazardStep(models.Model):
    """One step of a hidden danger's timeline: who did what, when, with which note."""

    hazard = models.ForeignKey(Hazard, on_delete=models.CASCADE, related_name="steps")
    action = models.CharField(_("action"), max_length=20)
    from_status = models.CharField(pgettext_lazy("state change", "from"), max_length=10, blank=True)
    to_status = models.CharField(pgettext_lazy("state change", "to"), max_length=10)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(_("by"), max_length=150)
    at = models.DateTimeField(_("time"))
    note = models.TextField(_("note"), blank=True)

    scope = ScopeSpec(
        domain=Domain.HAZARDS, event="hazard__event", zone="hazard__zone", unit="hazard__unit"
    )

    class Meta:
        verbose_name = _("hidden danger step")
        verbose_name_plural = _("hidden danger steps")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.hazard.code} {self.action}"

    @property
    def action_label(self) -> str:
        return str(STEP_LABELS.get(self.action, self.action))

    @property
    def to_status_label(self) -> str:
        try:
            return str(HazardStatus(self.to_status).label)
        except ValueError:
            return self.to_status


def photo_path(instance: HazardPhoto, filename: str) -> str:
    return f"hazards/{instance.hazard.event.code}/{instance.hazard_id}/{filename}"


class HazardPhoto(models.Model):
    hazard = models.ForeignKey(Hazard, on_delete=models.CASCADE, related_name="photos")
    step = models.ForeignKey(
        HazardStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="photos"
    )
    file = models.FileField(_("photo"), upload_to=photo_path, max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(
        domain=Domain.HAZARDS, event="hazard__event", zone="hazard__zone", unit="hazard__unit"
    )

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self.hazard.code} photo {self.pk}"
