"""Tabular import and export (XLSX and CSV), shared by every domain.

An import reads the whole file, parses every row, and calls the domain's service for
each row inside one transaction (each row in its own savepoint so that every error
is collected). If any row fails, or it is a dry run, the transaction is rolled back:
a file with an invalid row is refused whole, and the dry run checks exactly the
rules the real run applies.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import override

from .servicekit import error_dict

MAX_IMPORT_BYTES = 20 * 1024 * 1024
MAX_IMPORT_ROWS = 200_000


@dataclass(frozen=True)
class Column:
    """One column of a table: its key (the English header), label and parser."""

    key: str
    label: Promise
    required: bool = False
    parse: Callable[[str], Any] | None = None  # raises ValidationError with a message
    field: str | None = None  # the service/model field errors are reported for
    export: Callable[[Any], Any] | None = None  # value of a record for export

    def headers(self) -> set[str]:
        names = {self.key.lower()}
        for language in ("en", "zh-hans"):
            with override(language):
                names.add(str(self.label).strip().lower())
        return names


@dataclass
class RowError:
    row: int  # the row number as a spreadsheet shows it (header is row 1)
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def applied(self) -> bool:
        return self.ok and not self.dry_run

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "applied": self.applied,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "errors": [e.as_dict() for e in self.errors],
        }


class ImportRefused(Exception):
    """The file itself cannot be read (format, size, headers)."""

    def __init__(self, errors: list[RowError]):
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(content: bytes, filename: str) -> tuple[list[str], list[list[str]]]:
    """The header and data rows of an XLSX or CSV file, as text."""
    if len(content) > MAX_IMPORT_BYTES:
        raise ImportRefused([RowError(0, "", _("The file is larger than 20 MB."))])
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:
            raise ImportRefused(
                [RowError(0, "", _("The file is not a readable XLSX workbook."))]
            ) from exc
        sheet = workbook.worksheets[0]
        rows = [[_cell_text(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        workbook.close()
    elif name.endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("gb18030")
            except UnicodeDecodeError as exc:
                raise ImportRefused(
                    [RowError(0, "", _("The CSV file is neither UTF-8 nor GB18030 text."))]
                ) from exc
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise ImportRefused([RowError(0, "", _("Upload an .xlsx or a .csv file."))])
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise ImportRefused([RowError(0, "", _("The file is empty."))])
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise ImportRefused(
            [RowError(0, "", _("The file has more than %(n)d rows.") % {"n": MAX_IMPORT_ROWS})]
        )
    return rows[0], rows[1:]


def map_headers(header: Sequence[str], columns: Sequence[Column]) -> dict[str, int]:
    """Column key -> position in the file; refuses missing required or unknown columns."""
    positions: dict[str, int] = {}
    errors: list[RowError] = []
    for index, raw in enumerate(header):
        name = (raw or "").strip().lower()
        if not name:
            continue
        match = next((c for c in columns if name in c.headers()), None)
        if match is None:
            errors.append(RowError(1, raw, _("Unknown column “%(name)s”.") % {"name": raw}))
        elif match.key in positions:
            errors.append(RowError(1, raw, _("Column “%(name)s” appears twice.") % {"name": raw}))
        else:
            positions[match.key] = index
    for column in columns:
        if column.required and column.key not in positions:
            errors.append(
                RowError(
                    1,
                    column.key,
                    _("Required column “%(name)s” is missing.") % {"name": column.key},
                )
            )
    if errors:
        raise ImportRefused(errors)
    return positions


RowHandler = Callable[[dict[str, Any], int], str]  # returns "created" or "updated"


def run_import(
    *,
    content: bytes,
    filename: str,
    columns: Sequence[Column],
    apply_row: RowHandler,
    dry_run: bool,
) -> ImportResult:
    """Parse and apply a whole file, all or nothing."""
    result = ImportResult(dry_run=dry_run)
    try:
        header, rows = read_table(content, filename)
        positions = map_headers(header, columns)
    except ImportRefused as refused:
        result.errors = refused.errors
        return result
    by_field = {c.field or c.key: c.key for c in columns}
    with transaction.atomic():
        for offset, raw in enumerate(rows):
            row_number = offset + 2
            if not any(raw):
                continue
            result.rows += 1
            values: dict[str, Any] = {}
            row_errors = []
            for column in columns:
                index = positions.get(column.key)
                text = raw[index].strip() if index is not None and index < len(raw) else ""
                if not text:
                    if column.required:
                        row_errors.append(
                            RowError(row_number, column.key, _("A value is required."))
                        )
                    continue
                try:
                    values[column.key] = column.parse(text) if column.parse else text
                except ValidationError as exc:
                    for message in exc.messages:
                        row_errors.append(RowError(row_number, column.key, message))
            if row_errors:
                result.errors.extend(row_errors)
                continue
            try:
                with transaction.atomic():
                    outcome = apply_row(values, row_number)
            except ValidationError as exc:
                for name, messages in error_dict(exc).items():
                    column = by_field.get(name, name if name != "__all__" else "")
                    for message in messages:
                        result.errors.append(RowError(row_number, column, message))
                continue
            except PermissionDenied as exc:
                result.errors.append(RowError(row_number, "", str(exc)))
                continue
            if outcome == "updated":
                result.updated += 1
            else:
                result.created += 1
        if result.rows == 0 and not result.errors:
            result.errors.append(RowError(0, "", _("The file has no data rows.")))
        if result.errors or dry_run:
            transaction.set_rollback(True)
    return result


# ---------------------------------------------------------------- export


def export_table(
    *, columns: Sequence[Column], records: Iterable[Any], fmt: str, filename: str
) -> HttpResponse:
    """A list as an XLSX or CSV download, headers in the reader's language."""
    header = [str(c.label) for c in columns]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")

    def row_of(record) -> list:
        out = []
        for c in columns:
            value = c.export(record) if c.export else getattr(record, c.key, "")
            out.append("" if value is None else value)
        return out

    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(header)
        for record in records:
            sheet.append([_excel_value(v) for v in row_of(record)])
        buffer = io.BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.xlsx"'
        return response
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for record in records:
            writer.writerow(row_of(record))
        # A BOM so that spreadsheet programs read the Chinese text as UTF-8.
        response = HttpResponse(
            "\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}-{stamp}.csv"'
        return response
    raise ValueError(fmt)


def _excel_value(value):
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "isoformat"):
        return value
    return str(value)
