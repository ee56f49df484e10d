"""Spreadsheets of the cold-chain loop: consignment manifests and laboratory result sheets.

Both are read whole, every row checked, and written through one bulk service in one
transaction: a file with any invalid row is refused whole, with each row's errors.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from eventguard.core.tabular import (
    Column,
    ImportRefused,
    ImportResult,
    RowError,
    map_headers,
    read_table,
)

from . import services
from .models import NatResult, TemperatureClass
from .services import BoxRow, ResultRow, RowsRefused


def _choice(choices):
    def parse(text: str) -> str:
        value = text.strip().lower()
        for key, label in choices:
            if value in {key.lower(), str(label).lower()}:
                return key
        raise ValidationError(
            _("“%(value)s” is not one of: %(allowed)s.")
            % {"value": text, "allowed": ", ".join(k for k, _label in choices)}
        )

    return parse


_TEMPERATURE_WORDS = [
    *TemperatureClass.choices,
    ("frozen", "冷冻"),
    ("chilled", "冷藏"),
]
_RESULT_WORDS = [*NatResult.choices, ("negative", "阴性"), ("positive", "阳性")]


def _parse_time(time_zone: str):
    def parse(text: str) -> dt.datetime:
        value = text.strip().replace("/", "-")
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValidationError(
                _("“%(value)s” is not a date and time (such as 2021-10-22 15:30).")
                % {"value": text}
            ) from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zoneinfo.ZoneInfo(time_zone))
        return parsed

    return parse


MANIFEST_COLUMNS = [
    Column("code", gettext_lazy("Traceability code"), required=True),
    Column("gtin", gettext_lazy("GTIN"), required=True),
    Column("serial", gettext_lazy("Serial no.")),
    Column("product", gettext_lazy("Product"), required=True),
    Column(
        "temperature_class",
        gettext_lazy("Temperature class"),
        required=True,
        parse=_choice(_TEMPERATURE_WORDS),
    ),
    Column("weight_kg", gettext_lazy("Weight (kg)"), required=True),
    Column("smallest_package", gettext_lazy("Smallest package"), required=True),
]


def _rows_of(content: bytes, filename: str, columns, result: ImportResult):
    """(row number, values) of every non-empty row; parse errors go to ``result``."""
    header, rows = read_table(content, filename)
    positions = map_headers(header, columns)
    parsed = []
    for offset, raw in enumerate(rows):
        number = offset + 2
        if not any(raw):
            continue
        result.rows += 1
        values, failed = {}, False
        for column in columns:
            index = positions.get(column.key)
            text = raw[index].strip() if index is not None and index < len(raw) else ""
            if not text:
                if column.required:
                    result.errors.append(RowError(number, column.key, _("A value is required.")))
                    failed = True
                continue
            try:
                values[column.key] = column.parse(text) if column.parse else text
            except ValidationError as exc:
                failed = True
                result.errors.extend(RowError(number, column.key, m) for m in exc.messages)
        if not failed:
            parsed.append((number, values))
    return parsed


def import_manifest(
    *, actor, consignment, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    """Declare the boxes of a consignment from an XLSX or CSV manifest, all or nothing."""
    result = ImportResult(dry_run=dry_run)
    try:
        parsed = _rows_of(content, filename, MANIFEST_COLUMNS, result)
    except ImportRefused as refused:
        result.errors = refused.errors
        return result
    if result.rows == 0:
        result.errors.append(RowError(0, "", _("The file has no data rows.")))
        return result
    rows = [
        BoxRow(
            row=number,
            code=values["code"],
            gtin=values["gtin"],
            serial=values.get("serial", ""),
            product=values["product"],
            temperature_class=values["temperature_class"],
            weight_kg=values["weight_kg"],
            smallest_package=values["smallest_package"],
        )
        for number, values in parsed
    ]
    # The service checks the rows that parsed, so that one answer lists every row's errors.
    with transaction.atomic():
        if rows:
            try:
                boxes = services.box_declare_bulk(actor=actor, consignment=consignment, rows=rows)
            except RowsRefused as exc:
                result.errors.extend(exc.rows)
            else:
                result.created = len(boxes)
        result.errors.sort(key=lambda e: (e.row, e.column))
        if result.errors:
            result.created = 0
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result


RESULT_COLUMNS = [
    Column("sample_code", gettext_lazy("Sample no."), required=True),
    Column(
        "result", pgettext_lazy("NAT test", "Result"), required=True, parse=_choice(_RESULT_WORDS)
    ),
    Column("reported_at", gettext_lazy("Reported at"), required=True),
    Column("report_no", gettext_lazy("Test report no.")),
]


def import_lab_results(
    *, actor, event, content: bytes, filename: str, dry_run: bool
) -> ImportResult:
    """A laboratory's result sheet: every sample's result, all or nothing."""
    result = ImportResult(dry_run=dry_run)
    columns = [
        *RESULT_COLUMNS[:2],
        Column(
            "reported_at",
            gettext_lazy("Reported at"),
            required=True,
            parse=_parse_time(event.time_zone),
        ),
        RESULT_COLUMNS[3],
    ]
    try:
        parsed = _rows_of(content, filename, columns, result)
    except ImportRefused as refused:
        result.errors = refused.errors
        return result
    if result.rows == 0:
        result.errors.append(RowError(0, "", _("The file has no data rows.")))
        return result
    rows = [
        ResultRow(
            row=number,
            sample_code=values["sample_code"],
            result=values["result"],
            reported_at=values["reported_at"],
            report_no=values.get("report_no", ""),
        )
        for number, values in parsed
    ]
    with transaction.atomic():
        if rows:
            try:
                services.nat_results_record_bulk(actor=actor, event=event, rows=rows)
            except RowsRefused as exc:
                result.errors.extend(exc.rows)
            else:
                result.updated = len(rows)
        result.errors.sort(key=lambda e: (e.row, e.column))
        if result.errors:
            result.updated = 0
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result
