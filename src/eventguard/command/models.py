"""Escalation chains, work orders and their timeline, notifications, webhooks."""

import datetime as dt

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eventguard.alerts.models import Alarm, Severity
from eventguard.alerts.notes import entry_note
from eventguard.alerts.notes import render as render_note
from eventguard.core.access import ScopeSpec
from eventguard.core.models import Domain, Event, Unit, Zone

# ---------------------------------------------------------------- escalation


class EscalationTarget(models.TextChoices):
    POST_STAFF = "post_staff", _("Post staff")
    ZONE_SUPERVISOR = "zone_supervisor", _("Zone supervisor")
    COMMANDER = "commander", _("Commander")


class EscalationLevel(models.Model):
    """One level of an event's escalation chain for one severity: who is told, and how long
    the alarm may stay unacknowledged before it goes to the next level."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="escalation_levels")
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    level = models.PositiveSmallIntegerField(_("level"))
    target = models.CharField(_("who is told"), max_length=20, choices=EscalationTarget.choices)
    ack_within_seconds = models.PositiveIntegerField(
        _("acknowledge within (seconds)"),
        default=300,
        help_text=_("Unacknowledged longer than this, the alarm goes to the next level."),
    )
    remind_every_seconds = models.PositiveIntegerField(
        _("remind every (seconds)"),
        default=300,
        help_text=_("At the last level, how often the reminder repeats until acknowledged."),
    )

    scope = ScopeSpec(domain=Domain.MONITORING, zone=None, unit=None)

    class Meta:
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation chain")
        ordering = ["event", "severity", "level"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "severity", "level"],
                name="command_escalationlevel_unique_event_severity_level",
                violation_error_message=_("This level of the chain already exists."),
            ),
            models.CheckConstraint(
                condition=Q(level__gte=1), name="command_escalationlevel_level_positive"
            ),
            models.CheckConstraint(
                condition=Q(ack_within_seconds__gte=10) & Q(remind_every_seconds__gte=10),
                name="command_escalationlevel_times_min",
                violation_error_message=_("Times are at least 10 seconds."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} {self.level}: {self.get_target_display()}"


class AlarmEscalation(models.Model):
    """Where an unacknowledged alarm stands in its chain, and when it is next due.

    One row per alarm (the unique key lets several workers adopt the same alarm safely);
    the timer claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED``."""

    alarm = models.OneToOneField(Alarm, on_delete=models.CASCADE, related_name="escalation")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    reminders = models.PositiveIntegerField(_("reminders sent"), default=0)
    next_at = models.DateTimeField(_("next step due"), null=True, blank=True)
    finished = models.BooleanField(default=False)

    scope = ScopeSpec(
        domain_path="alarm__domain",
        zone="alarm__zone",
        unit="alarm__unit",
        overseen_by="monitoring",
    )

    class Meta:
        verbose_name = _("alarm escalation")
        verbose_name_plural = _("alarm escalations")
        indexes = [models.Index(fields=["finished", "next_at"])]

    def __str__(self) -> str:
        return f"{self.alarm_id}: {self.level}"


# ---------------------------------------------------------------- work orders


class WorkOrderState(models.TextChoices):
    DISPATCHED = "dispatched", _("Dispatched")
    ACCEPTED = "accepted", pgettext_lazy("work order state", "Accepted")
    ON_SITE = "on_site", _("On site")
    DONE = "done", _("Done")
    RETURNED = "returned", pgettext_lazy("work order state", "Returned")


OPEN_WORK_STATES = (WorkOrderState.DISPATCHED, WorkOrderState.ACCEPTED, WorkOrderState.ON_SITE)


class WorkOrder(models.Model):
    """Work dispatched from an alarm or a hidden danger to one person, with a deadline."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="work_orders")
    alarm = models.ForeignKey(
        Alarm,
        verbose_name=_("alarm"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
    )
    hazard = models.ForeignKey(
        "hazards.Hazard",
        verbose_name=_("hidden danger"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="work_orders",
    )
    title = models.CharField(_("title"), max_length=200)
    instructions = models.TextField(_("instructions"), blank=True)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    zone = models.ForeignKey(
        Zone, verbose_name=_("zone"), on_delete=models.SET_NULL, null=True, blank=True
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("unit"), on_delete=models.SET_NULL, null=True, blank=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="work_orders",
    )
    deadline = models.DateTimeField(_("deadline"))
    state = models.CharField(
        _("state"),
        max_length=12,
        choices=WorkOrderState.choices,
        default=WorkOrderState.DISPATCHED,
    )
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("dispatched"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("on site since"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    result_note = models.TextField(pgettext_lazy("work order", "result"), blank=True)
    # Set once by the timer when an open work order passes its deadline and people are told.
    overdue_notified_at = models.DateTimeField(_("overdue notice sent"), null=True, blank=True)

    scope = ScopeSpec(domain_path="domain", zone="zone", unit="unit", overseen_by="monitoring")

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-dispatched_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(alarm__isnull=False) & Q(hazard__isnull=True))
                | (Q(alarm__isnull=True) & Q(hazard__isnull=False)),
                name="command_workorder_one_source",
                violation_error_message=_(
                    "A work order comes from exactly one alarm or hidden danger."
                ),
            ),
            models.CheckConstraint(
                condition=Q(state__in=WorkOrderState.values), name="command_workorder_state_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["done", "returned"]) | Q(finished_at__isnull=False),
                name="command_workorder_finished_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "state", "deadline"]),
            models.Index(fields=["assignee", "state"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_WORK_STATES


class WorkOrderEntry(models.Model):
    """The work order's timeline: who did what, when."""

    class Action(models.TextChoices):
        DISPATCHED = "dispatched", _("Dispatched")
        ACCEPTED = "accepted", pgettext_lazy("work order state", "Accepted")
        ARRIVED = "arrived", _("On site")
        COMPLETED = "completed", _("Done")
        RETURNED = "returned", pgettext_lazy("work order state", "Returned")
        OVERDUE = "overdue", _("Overdue")

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="entries")
    at = models.DateTimeField(_("time"))
    action = models.CharField(_("action"), max_length=12, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(_("by"), max_length=150)
    note = models.TextField(_("note"), blank=True)
    # A system note is kept as {"message": {"key", "params"}} (alerts/notes.py), put into
    # words in the reader's language.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("work order timeline entry")
        verbose_name_plural = _("work order timeline")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def text(self) -> str:
        """The note in the reader's language (a system message), or as a person wrote it."""
        return entry_note(self)


def work_photo_path(instance: "WorkOrderPhoto", filename: str) -> str:
    return f"work-orders/{instance.work_order.event_id}/{instance.work_order_id}/{filename}"


class WorkOrderPhoto(models.Model):
    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos")
    image = models.FileField(_("photo"), upload_to=work_photo_path)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("work order photo")
        verbose_name_plural = _("work order photos")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.image.name


# ---------------------------------------------------------------- notifications


class Channel(models.TextChoices):
    FEED = "feed", _("In-app feed")
    EMAIL = "email", _("E-mail")


class NotificationPreference(models.Model):
    """Which severities and domains reach a person on one channel (no row: the defaults)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(_("enabled"), default=True)
    severities = models.JSONField(_("severities"), default=list, blank=True)  # empty: all
    domains = models.JSONField(_("domains"), default=list, blank=True)  # empty: all

    scope = ScopeSpec(domain=Domain.MONITORING, zone=None, unit=None)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["event", "user", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event", "channel"],
                name="command_notificationpreference_unique_user_event_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_channel_display()}"


class Notification(models.Model):
    """A line of a person's in-app feed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=40)
    severity = models.CharField(_("severity"), max_length=10, blank=True)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    # {"title": message, "body": message} (alerts/notes.py): the title and text in the
    # reader's language; ``title`` and ``body`` keep them in the language they were sent in.
    message = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["user", "event", "id"])]

    def __str__(self) -> str:
        return self.title

    @property
    def title_text(self) -> str:
        return render_note(self.message.get("title"), self.title)

    @property
    def body_text(self) -> str:
        return render_note(self.message.get("body"), self.body)


class Webhook(models.Model):
    """An HTTP endpoint told of alarms and work orders; each body is signed with its secret."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="webhooks")
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=128)
    severities = models.JSONField(_("severities"), default=list, blank=True)  # empty: all
    domains = models.JSONField(_("domains"), default=list, blank=True)  # empty: all
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    scope = ScopeSpec(domain=Domain.MONITORING, zone=None, unit=None)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["event", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "name"], name="command_webhook_unique_event_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """What a webhook delivery and an e-mail share: the state, the attempts made (their log)
    and when the next one is due; services._claim and _record_attempt work on both."""

    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempt_count = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the next attempt is due; a worker taking it pushes this forward (its lease).
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # Set while a worker sends it (until when its lease holds), cleared when the attempt is
    # logged: "retry now" waits for that attempt's result rather than send it twice.
    leased_until = models.DateTimeField(_("being sent until"), null=True, blank=True)
    attempts = models.JSONField(_("attempt log"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        abstract = True

    def in_flight(self, now: dt.datetime) -> bool:
        """Whether a worker is sending it at ``now`` (its lease holds)."""
        return self.leased_until is not None and self.leased_until > now


class WebhookDelivery(Delivery):
    """One message to one webhook, retried with backoff; ``attempts`` is its log."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    topic = models.CharField(_("topic"), max_length=60)
    body = models.TextField(_("body"))

    scope = ScopeSpec(event="webhook__event", domain=Domain.MONITORING, zone=None, unit=None)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values),
                name="command_webhookdelivery_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.webhook} #{self.pk} {self.get_state_display()}"


class EmailDelivery(Delivery):
    """One e-mail to one person, retried with backoff like a webhook delivery; ``attempts``
    is its log. Subject and text are written in the person's language when it is queued."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="email_deliveries")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to = models.EmailField(pgettext_lazy("e-mail", "to"), max_length=254)
    topic = models.CharField(_("topic"), max_length=60)
    subject = models.CharField(pgettext_lazy("e-mail", "subject"), max_length=200)
    body = models.TextField(_("text"))

    scope = ScopeSpec(domain=Domain.MONITORING, zone=None, unit=None)

    class Meta:
        verbose_name = _("e-mail delivery")
        verbose_name_plural = _("e-mail deliveries")
        ordering = ["-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DeliveryState.values),
                name="command_emaildelivery_state_valid",
            ),
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.to} #{self.pk} {self.get_state_display()}"


# ---------------------------------------------------------------- the dashboard's figures


class DashboardFigures(models.Model):
    """The command dashboard's key figures and cold-chain funnel of an event in one language,
    as last computed. Every server process (on every host) serves these; once they are old,
    one of them at a time computes the next under a lease (command/dashboard.py), so a
    server answering many dashboards computes them once, not once per process."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(_("language"), max_length=10)
    # As the dashboard's answer carries them: {"at", "figures", "funnel"}; None until the
    # first computation ends.
    value = models.JSONField(_("value"), encoder=DjangoJSONEncoder, null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    # Set while a process computes the next value (until when its lease holds): the others
    # go on serving the last one. A process that died computing is replaced once it ends.
    leased_until = models.DateTimeField(_("being computed until"), null=True, blank=True)

    class Meta:
        verbose_name = _("dashboard figures")
        verbose_name_plural = _("dashboard figures")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "language"], name="command_dashboardfigures_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.language} {self.computed_at}"
