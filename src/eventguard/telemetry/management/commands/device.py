import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from eventguard.core import subjects
from eventguard.core.models import Event
from eventguard.telemetry import services
from eventguard.telemetry.models import Device, DeviceKind
from eventguard.telemetry.selectors import DeviceFilters, device_status


def _event(code: str) -> Event:
    event = Event.objects.filter(code=code).first()
    if event is None:
        raise CommandError(_("No event with code “%(code)s”.") % {"code": code})
    return event


def _device(event: Event, code: str) -> Device:
    device = Device.objects.filter(event=event, code=code).first()
    if device is None:
        raise CommandError(_("No device “%(code)s” in this event.") % {"code": code})
    return device


def _row(device: Device) -> dict:
    return {
        "id": device.pk,
        "code": device.code,
        "name": device.name,
        "kind": device.kind,
        "subject": device.subject_key,
        "subject_name": device.subject_name,
        "zone_id": device.zone_id,
        "unit_id": device.unit_id,
        "is_active": device.is_active,
        "status": device_status(device),
        "offline_after": device.offline_after,
        "last_seen_at": device.last_seen_at.isoformat() if device.last_seen_at else None,
        "last_seq": device.last_seq,
    }


class Command(BaseCommand):
    help = "Devices: list, create (prints the secret once), rotate-secret, deactivate, activate."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="the devices of an event")
        listing.add_argument("--event", required=True)
        listing.add_argument("--format", choices=["json", "table"], default="table")
        listing.add_argument("--kind", choices=DeviceKind.values)
        listing.add_argument("--status", choices=["online", "offline", "never_seen", "inactive"])
        create = sub.add_parser("create", help="register a device and print its secret once")
        create.add_argument("--event", required=True)
        create.add_argument("--code", required=True, help="the device id used in its topic")
        create.add_argument("--kind", required=True, choices=DeviceKind.values)
        create.add_argument("--subject", required=True, help="<kind>:<id>, e.g. core.unit:12")
        create.add_argument("--name", default="")
        create.add_argument("--offline-after", type=int)
        for name in ("rotate-secret", "deactivate", "activate"):
            action = sub.add_parser(name)
            action.add_argument("--event", required=True)
            action.add_argument("--code", required=True)

    def handle(self, *args, action, **options):
        event = _event(options["event"])
        try:
            getattr(self, "do_" + action.replace("-", "_"))(event, options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def do_list(self, event, options):
        devices = Device.objects.filter(event=event).order_by("code")
        filters = DeviceFilters(kind=options.get("kind"), status=options.get("status"))
        rows = [_row(d) for d in filters.filter(devices)]
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for r in rows:
            self.stdout.write(
                f"{r['code']:<28} {r['kind']:<22} {r['status']:<11} {r['subject']:<28} "
                f"{r['subject_name']}"
            )

    def do_create(self, event, options):
        label, pk = subjects.parse_key(options["subject"])
        device, secret = services.device_create(
            actor=None,
            event=event,
            code=options["code"],
            kind=options["kind"],
            subject_type=label,
            subject_id=pk,
            name=options["name"],
            offline_after=options.get("offline_after"),
        )
        self.stdout.write(secret)
        self.stderr.write(
            _("Device %(code)s registered. Store its secret now: it will not be shown again.")
            % {"code": device.code}
        )

    def do_rotate_secret(self, event, options):
        _device_, secret = services.device_rotate_secret(
            actor=None, device=_device(event, options["code"])
        )
        self.stdout.write(secret)

    def do_deactivate(self, event, options):
        services.device_deactivate(actor=None, device=_device(event, options["code"]))
        self.stdout.write(_("Device %(code)s deactivated.") % {"code": options["code"]})

    def do_activate(self, event, options):
        services.device_activate(actor=None, device=_device(event, options["code"]))
        self.stdout.write(_("Device %(code)s activated.") % {"code": options["code"]})
