"""The two string formats of the EPCIS 2.0 JSON schema: ``uri`` and ``date-time``.

``uri`` is an absolute URI by the grammar of RFC 3986 (section 3; ASCII only, so an IRI
with non-ASCII characters must be percent-encoded). ``date-time`` is an RFC 3339
timestamp: full date, ``T``, full time with seconds, optional fraction, and ``Z`` or an
offset. Both refuse a trailing line break.
"""

from __future__ import annotations

import calendar
import datetime as dt
import ipaddress
import re

_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_USERINFO = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_IP_LITERAL = r"\[(?P<ip>[^\[\]/?#@]*)\]"
_AUTHORITY = rf"(?:{_USERINFO}@)?(?:{_IP_LITERAL}|{_REG_NAME})(?::[0-9]*)?"
_SEGMENT = rf"{_PCHAR}*"
_SEGMENT_NZ = rf"{_PCHAR}+"
_HIER_PART = (
    rf"(?://{_AUTHORITY}(?:/{_SEGMENT})*"  # "//" authority path-abempty
    rf"|/(?:{_SEGMENT_NZ}(?:/{_SEGMENT})*)?"  # path-absolute
    rf"|{_SEGMENT_NZ}(?:/{_SEGMENT})*"  # path-rootless
    r"|)"  # path-empty
)
_QUERY_OR_FRAGMENT = rf"(?:{_PCHAR}|[/?])*"
_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+\-.]*:{_HIER_PART}(?:\?{_QUERY_OR_FRAGMENT})?(?:#{_QUERY_OR_FRAGMENT})?"
)
_IP_FUTURE = re.compile(rf"v[0-9A-Fa-f]+\.[{_UNRESERVED}{_SUB_DELIMS}:]+")


def is_uri(value: str) -> bool:
    """Whether ``value`` is an absolute URI (RFC 3986 ``URI``)."""
    match = _URI.fullmatch(value)
    if match is None:
        return False
    literal = match.group("ip")
    if literal is None:
        return True
    if _IP_FUTURE.fullmatch(literal):
        return True
    if "%" in literal:  # zone identifiers are not part of RFC 3986
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])-(?P<day>[0-9]{2})"
    r"[Tt](?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])"
    r"(?:\.(?P<fraction>[0-9]+))?"
    r"(?P<offset>[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def is_date_time(value: str) -> bool:
    """Whether ``value`` is an RFC 3339 date-time."""
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    if year == 0:
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def parse_date_time(value: str) -> dt.datetime:
    """An aware datetime of a valid RFC 3339 date-time (fraction cut to microseconds)."""
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        raise ValueError(value)
    offset = match["offset"].upper()
    if offset == "Z":
        tz = dt.UTC
    else:
        sign = 1 if offset[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    return dt.datetime(
        int(match["year"]),
        int(match["month"]),
        int(match["day"]),
        int(match["hour"]),
        int(match["minute"]),
        int(match["second"]),
        int(fraction),
        tzinfo=tz,
    )


def format_date_time(value: dt.datetime) -> str:
    """An aware datetime in RFC 3339 with milliseconds and its own offset."""
    text = value.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def time_zone_offset(value: dt.datetime) -> str:
    """The ``eventTimeZoneOffset`` of an aware datetime: ``+08:00``."""
    offset = value.utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
