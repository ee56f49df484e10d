"""The unified-command entries of the main menu."""

from django.utils.translation import gettext_lazy as _

from eventguard.core.nav import register_menu

register_menu(
    "command.dashboard",
    label=_("Command dashboard"),
    url_name="command:dashboard",
    domain="monitoring",
    order=68,
)
register_menu(
    "command.work_orders",
    label=_("Work orders"),
    url_name="command:work_order_list",
    domain="monitoring",
    order=71,
)
register_menu(
    "command.feed",
    label=_("My notifications"),
    url_name="command:feed",
    domain="monitoring",
    order=69,
)
# One entry for the command centre's settings (escalation chains, webhooks), next to the
# alarm rules; the pages link to each other with tabs.
register_menu(
    "command.settings",
    label=_("Command settings"),
    url_name="command:settings",
    domain="monitoring",
    order=73,
)
