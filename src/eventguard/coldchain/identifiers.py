"""GS1 identifiers of boxes: GTIN check digits, SGTIN EPC URIs and GS1 Digital Link URIs.

A box is identified by its GTIN and serial number. Its canonical EPC is the GS1 Digital
Link URI on the GS1 resolver (``https://id.gs1.org/01/<GTIN-14>/21/<serial>``), which is
also what its QR label encodes. An SGTIN EPC URI (``urn:epc:id:sgtin:...``) or a Digital
Link URI on any other domain names the same box and is mapped to that canonical form.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

DIGITAL_LINK_BASE = "https://id.gs1.org"

# GS1 AI (21) serial numbers use the 82 characters of GS1 "character set 82".
_SERIAL_RE = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_SGTIN_RE = re.compile(r"urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(.+)")
_DL_PATH_RE = re.compile(r"(?:/[^/]+)*?/01/(\d{8}|\d{12,14})/21/([^/?#]+)/?")
# The characters GS1 Digital Link leaves unescaped in a path segment.
_DL_SAFE = "!$'()*+,-.:;=@_"


def gtin_check_digit(body: str) -> str:
    """The check digit of a GTIN whose other digits are ``body``."""
    total = 0
    for position, digit in enumerate(reversed(body)):
        total += int(digit) * (3 if position % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def normalise_gtin(text: str) -> str | None:
    """A GTIN-8/12/13/14 with a valid check digit as a GTIN-14, else None."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return None
    value = value.zfill(14)
    if gtin_check_digit(value[:-1]) != value[-1]:
        return None
    return value


def is_valid_serial(serial: str) -> bool:
    return bool(_SERIAL_RE.fullmatch(serial or ""))


def digital_link(gtin14: str, serial: str) -> str:
    return f"{DIGITAL_LINK_BASE}/01/{gtin14}/21/{quote(serial, safe=_DL_SAFE)}"


def parse_sgtin(uri: str) -> tuple[str, str] | None:
    """(GTIN-14, serial) of an SGTIN EPC URI, else None."""
    match = _SGTIN_RE.fullmatch(uri or "")
    if match is None:
        return None
    company, item, serial = match.groups()
    if len(company) + len(item) != 13:
        return None
    body = item[0] + company + item[1:]
    return body + gtin_check_digit(body), unquote(serial)


def parse_digital_link(uri: str) -> tuple[str, str] | None:
    """(GTIN-14, serial) of a GS1 Digital Link URI with AIs 01 and 21, else None."""
    try:
        parts = urlsplit(uri or "")
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    match = _DL_PATH_RE.fullmatch(parts.path)
    if match is None:
        return None
    gtin = normalise_gtin(match.group(1))
    if gtin is None:
        return None
    return gtin, unquote(match.group(2))


def gtin_serial_of(uri: str) -> tuple[str, str] | None:
    """(GTIN-14, serial) named by an SGTIN URI or a Digital Link URI, else None."""
    return parse_sgtin(uri) or parse_digital_link(uri)


def canonical_key(uri: str) -> str:
    """The canonical form of an identifier: the Digital Link of an SGTIN, else itself."""
    pair = gtin_serial_of(uri)
    return digital_link(*pair) if pair else uri


def idpat_prefix(pattern: str) -> str | None:
    """The EPC URI prefix an EPC pattern URI stands for, when its wildcards all trail.

    ``urn:epc:idpat:sgtin:0614141.107346.*`` matches every EPC URI starting with
    ``urn:epc:id:sgtin:0614141.107346.``. Patterns with a wildcard before a fixed part
    are not supported (None).
    """
    if not pattern.startswith("urn:epc:idpat:"):
        return None
    head, _sep, body = pattern[len("urn:epc:idpat:") :].partition(":")
    parts = body.split(".")
    while parts and parts[-1] == "*":
        parts.pop()
    if any(p == "*" for p in parts):
        return None
    fixed = ".".join(parts)
    prefix = f"urn:epc:id:{head}:{fixed}"
    if len(parts) < len(body.split(".")):
        prefix += "."
    return prefix
