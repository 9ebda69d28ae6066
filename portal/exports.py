"""Tables as CSV or XLSX downloads (the tracker, statements, registries)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from flask import Response
from werkzeug.exceptions import NotFound

from portal.edge import scrub
from portal.files import download_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(value: str) -> str:
    """Text a spreadsheet will not run as a formula (CSV injection), and can hold."""
    value = scrub(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return _safe_text(value)
    return value


def to_csv(header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Chinese and Vietnamese text correctly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_safe_text(str(h)) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title=sheet[:31])
    worksheet.append([_safe_text(str(h)) for h in header])
    for row in rows:
        worksheet.append([_xlsx_value(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _xlsx_value(value):
    if isinstance(value, Decimal):
        return float(value)  # a number the spreadsheet can sum; the CSV keeps the exact text
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, (date, int, float)) or value is None:
        return value
    return _safe_text(str(value))


def table_response(fmt: str, filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> Response:
    """``fmt`` is ``csv`` or ``xlsx``; anything else is a 404."""
    rows = list(rows)
    if fmt == "csv":
        return download_response(f"{filename}.csv", "text/csv", to_csv(header, rows))
    if fmt == "xlsx":
        return download_response(f"{filename}.xlsx", XLSX, to_xlsx(header, rows))
    raise NotFound()
