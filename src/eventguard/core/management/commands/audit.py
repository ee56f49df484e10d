from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from eventguard.core.audit import audit_verify


class Command(BaseCommand):
    help = "The audit trail: `audit verify` checks the whole hash chain."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="recompute the hash chain and name the first broken entry")

    def handle(self, *args, action, **options):
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                _("Audit chain BROKEN after %(n)d good entries: %(problem)s")
                % {"n": result.checked, "problem": result.problem}
            )
        self.stdout.write(_("Audit chain intact: %(n)d entries verified.") % {"n": result.checked})
