from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from eventguard.core import services
from eventguard.core.models import ApiToken, User


class Command(BaseCommand):
    help = "API tokens: create (printed once), list, revoke."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("--user", required=True)
        create.add_argument("--name", default="")
        listing = sub.add_parser("list", help="list tokens with their last use")
        listing.add_argument("--user")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        if action == "create":
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user “%(name)s”.") % {"name": options["user"]})
            _token, raw = services.token_create(actor=None, user=user, name=options["name"])
            self.stdout.write(raw)
            self.stderr.write(_("Store this token now: it will not be shown again."))
        elif action == "list":
            tokens = ApiToken.objects.select_related("user")
            if options.get("user"):
                tokens = tokens.filter(user__username=options["user"])
            for t in tokens:
                state = _("revoked") if t.revoked_at else pgettext("API token", "active")
                last = t.last_used_at.isoformat() if t.last_used_at else "-"
                self.stdout.write(
                    f"{t.prefix}…  {t.user.username:<24} {t.name:<16} {state:<8} {last}"
                )
        else:
            tokens = list(ApiToken.objects.filter(prefix=options["prefix"]))
            if len(tokens) != 1:
                raise CommandError(
                    _("No single token with prefix “%(p)s”.") % {"p": options["prefix"]}
                )
            services.token_revoke(actor=None, token=tokens[0])
            self.stdout.write(_("Token %(p)s… revoked.") % {"p": tokens[0].prefix})
