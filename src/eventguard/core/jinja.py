"""The Jinja2 environment in which the rows of the busiest list pages are rendered.

A list page of 50 records spends most of its server time in Django's template engine
rendering the table's rows (a quarter of a millisecond per row, against a few milliseconds
for everything around them). Jinja2 compiles a template to Python code; with the numeric
dates written by strftime (``date`` below) it renders 50 rows 3-4 times faster (measured on
the box, equipment and hidden-danger rows). So the rows of these pages are Jinja2 templates under
``<app>/jinja2/<app>/_<name>_rows.html`` while the page around them stays a Django template:

    <tbody>{% rows "alerts/_alarm_rows.html" %}</tbody>

The ``rows`` tag (core/templatetags/eventguard.py) renders the named template with the page's
context. To let a row template read like the Django one, this environment has Django's
built-in filters, humanize's and the project's own filters under the same names
(``{{ alarm.last_at|date("m-d H:i:s") }}``, ``{{ box|choice_label("state") }}``), behaving as in
Django: a missing value is an empty string, a date is shown in the current (the event's)
time zone (written by strftime when its format has only numbers), output is escaped.
Strings are translated with ``{{ _("Overdue") }}``, which Django's makemessages reads in a
variable tag (it cannot read Jinja2's ``{% trans %}``).
"""

import datetime as dt
import functools
from importlib import import_module

import jinja2
from django.core.exceptions import ImproperlyConfigured
from django.template import defaultfilters
from django.template.backends.django import get_installed_libraries
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext, pgettext

# Filter libraries whose filters a row template may use, besides Django's built-in ones.
_LIBRARY_PREFIXES = ("eventguard.", "django.contrib.humanize.")


def _django_filter(func):
    """A Django filter made callable from Jinja2 with the semantics of Django's engine."""
    expects_localtime = getattr(func, "expects_localtime", False)
    is_safe = getattr(func, "is_safe", False)
    needs_autoescape = getattr(func, "needs_autoescape", False)

    @functools.wraps(func)
    def wrapper(value, *args):
        if isinstance(value, jinja2.Undefined):
            value = ""  # what Django hands a filter after a failed lookup
        elif expects_localtime:
            value = timezone.template_localtime(value)
        if needs_autoescape:
            result = func(value, *args, autoescape=True)
        else:
            result = func(value, *args)
        if is_safe and isinstance(result, str) and hasattr(value, "__html__"):
            result = mark_safe(result)  # safe in, safe out, as Django marks it
        return result

    return wrapper


# Django's date-format letters that strftime writes the same way (zero-padded numbers).
_STRFTIME = {"Y": "%Y", "y": "%y", "m": "%m", "d": "%d", "H": "%H", "i": "%M", "s": "%S"}
_TIME_LETTERS = frozenset("His")


@functools.cache
def _strftime_format(django_format: str) -> tuple[str, bool] | None:
    """The strftime format writing what a Django date format of numbers only ("Y-m-d H:i")
    writes, and whether it shows a time; None for any other format (names of months, a
    format's name such as "SHORT_DATE_FORMAT", escapes)."""
    parts = []
    for char in django_format:
        if char in _STRFTIME:
            parts.append(_STRFTIME[char])
        elif char.isalpha() or char == "\\":
            return None
        else:
            parts.append(char.replace("%", "%%"))
    return "".join(parts), bool(_TIME_LETTERS.intersection(django_format))


def date(value, arg=None):
    """Django's ``date`` filter, written by strftime when the format has only numbers: Django's
    formatter (a regular expression and a method call per letter) took most of a row's time
    in the lists, where every date has such a format."""
    if isinstance(value, dt.date) and isinstance(arg, str) and value.year >= 1000:
        numeric = _strftime_format(arg)
        if numeric is not None and (isinstance(value, dt.datetime) or not numeric[1]):
            return value.strftime(numeric[0])
    return defaultfilters.date(value, arg)


date.expects_localtime = True


def _filter_libraries():
    """Django's built-in filters, then humanize's and the project's template-tag libraries."""
    yield "django.template.defaultfilters"
    for module_path in sorted(get_installed_libraries().values()):
        if module_path.startswith(_LIBRARY_PREFIXES):
            yield module_path


def django_filters() -> dict:
    filters, origins = {}, {}
    for module_path in _filter_libraries():
        for name, func in import_module(module_path).register.filters.items():
            if name in origins and origins[name] != "django.template.defaultfilters":
                raise ImproperlyConfigured(
                    f"Template filter {name!r} is defined in both {origins[name]} and "
                    f"{module_path}; a Jinja2 row template could not tell them apart."
                )
            filters[name], origins[name] = _django_filter(func), module_path
    filters["date"] = _django_filter(date)
    return filters


def environment(**options) -> jinja2.Environment:
    # A missing value (a lookup through an empty relation) renders as nothing, as in Django,
    # in debug mode too (Django's backend would show it as "{{ ... }}" then).
    options["undefined"] = jinja2.ChainableUndefined
    options.setdefault("autoescape", True)
    env = jinja2.Environment(**options)
    env.filters.update(django_filters())
    env.globals.update(
        {
            "_": gettext,
            "gettext": gettext,
            "ngettext": ngettext,
            "pgettext": pgettext,
        }
    )
    return env
