"""Real CSV and XLSX files for tests, written with the csv module and openpyxl directly (not
with scimd's own writer, so that a fault there cannot hide in both directions)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import openpyxl


def csv_bytes(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    delimiter: str = ",",
    bom: bool = False,
) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return (("\ufeff" if bom else "") + text.getvalue()).encode("utf-8")


def xlsx_bytes(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def spreadsheet(kind: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    return csv_bytes(headers, rows) if kind == "csv" else xlsx_bytes(headers, rows)


def read_rows(kind: str, data: bytes) -> list[dict[str, Any]]:
    """Rows of a spreadsheet as dicts by header, every cell as text ("" when blank)."""
    if kind == "csv":
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig")))
        table = [row for row in reader if row]
    else:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
        sheet = book.worksheets[0]
        table = [["" if c is None else c for c in row] for row in sheet.iter_rows(values_only=True)]
    headers = [str(h) for h in table[0]]
    # A spreadsheet row ends at its last filled cell: pad it to the header's width.
    width = len(headers)
    return [
        dict(zip(headers, [_text(c) for c in [*row, *[""] * width][:width]], strict=True))
        for row in table[1:]
    ]


def _text(cell: Any) -> str:
    if hasattr(cell, "strftime"):
        return cell.strftime("%Y-%m-%d")
    return "" if cell is None else str(cell)
