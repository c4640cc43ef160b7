"""One blinded rating sheet rendered three ways (bytes): offline HTML form, CSV, XLSX.

The HTML form is self-contained: inline CSS, one inline script pinned by hash in a Content-Security-Policy
that forbids every network request; text is escaped by Jinja's autoescape. "Save ratings" downloads
<sheet>.ratings.json (Blob + download link, nothing leaves the machine); "Load saved ratings" reads one back
to continue later.

The spreadsheets have one row per item × output: the text columns for reading, one score column per axis
headed `<axis> [<min>-<max>]` and a notes column. Text cells that a spreadsheet would read as a formula
(starting with = + - @) are prefixed with ' in the CSV and stored as plain strings in the XLSX.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from pathlib import Path
from typing import Any

from markupsafe import Markup

TEMPLATES = Path(__file__).parent / "templates"
XLSX_CELL_LIMIT = 32_000  # Excel stores at most 32,767 characters in a cell
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("input", "reference", "output_text")


def score_header(axis: str, low: int, high: int) -> str:
    return f"{axis} [{low}-{high}]"


def columns(sheet: dict[str, Any]) -> list[str]:
    r = sheet["rubric"]
    return ["sheet", "item", "output", *TEXT_COLUMNS, *(score_header(a.key, r.low, r.high) for a in r.axes), "notes"]


def rows(sheet: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for item in sheet["items"]:
        for o in item["outputs"]:
            out.append({"sheet": sheet["id"], "item": item["code"], "output": o["letter"], "input": item["input"],
                        "reference": item["reference"], "output_text": o["text"]})
    return out


def _environment() -> Any:
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined)


def write_html(sheet: dict[str, Any]) -> bytes:
    script = (TEMPLATES / "sheet.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    css = (TEMPLATES / "sheet.css").read_text(encoding="utf-8")
    r = sheet["rubric"]
    meta = {"format": "clue-ratings-sheet/1", "sheet": sheet["id"], "axes": r.keys, "low": r.low, "high": r.high,
            "units": sum(len(i["outputs"]) for i in sheet["items"])}
    html = _environment().get_template("sheet.html.j2").render(
        sheet=sheet, rubric=r, meta=meta, css=Markup(css), script=Markup(script), script_hash=f"sha256-{digest}")
    return html.encode("utf-8", "backslashreplace")


def _csv_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(sheet: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns(sheet), extrasaction="ignore")
    writer.writeheader()
    for row in rows(sheet):
        writer.writerow({k: (_csv_safe(v) if k in TEXT_COLUMNS else v) for k, v in row.items()})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly


def write_xlsx(sheet: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    r = sheet["rubric"]
    wb = Workbook()
    ws = wb.active
    ws.title = "ratings"
    cols = columns(sheet)
    ws.append(cols)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows(sheet):
        values = []
        for k in cols:
            v = row.get(k, "")
            if k in TEXT_COLUMNS:
                v = ILLEGAL_CHARACTERS_RE.sub("\ufffd", v)
                if len(v) > XLSX_CELL_LIMIT:
                    v = v[:XLSX_CELL_LIMIT] + " […cut: the full text is in the HTML sheet]"
            values.append(v)
        ws.append(values)
        for cell, k in zip(ws[ws.max_row], cols):
            if k in TEXT_COLUMNS:
                cell.data_type = "s"  # never a formula, whatever the model wrote
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = {"sheet": 16, "item": 7, "output": 7, "input": 60, "reference": 40, "output_text": 60, "notes": 40}
    fill = PatternFill("solid", fgColor="FFF4CC")
    last = ws.max_row
    dv = DataValidation(type="whole", operator="between", formula1=str(r.low), formula2=str(r.high), allow_blank=True,
                        showErrorMessage=True, errorTitle="score", error=f"a whole number from {r.low} to {r.high}")
    ws.add_data_validation(dv)
    for j, k in enumerate(cols, start=1):
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = widths.get(k, 14)
        if k.startswith(tuple(f"{a.key} [" for a in r.axes)) or k == "notes":
            for i in range(2, last + 1):
                ws[f"{letter}{i}"].fill = fill
            if k != "notes" and last >= 2:
                dv.add(f"{letter}2:{letter}{last}")
    ws.freeze_panes = "D2"
    info = wb.create_sheet("rubric")
    info.append([r.title])
    if r.source:
        info.append([f"source: {r.source}"])
    if sheet["credentialed"]:
        info.append(["This sheet holds patient text from credentialed data: keep it on approved machines only."])
    info.append([f"scale {r.low}-{r.high}"] + [f"{v} = {r.label_of(v)}" for v in r.values if r.label_of(v)])
    info.append(["axis", "what to judge"])
    for a in r.axes:
        info.append([f"{a.label} ({a.key})", a.help])
    info.column_dimensions["A"].width = 36
    info.column_dimensions["B"].width = 100
    wb.properties.creator = "clue-kit"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
