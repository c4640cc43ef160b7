"""`clue ratings import`: read returned sheets, validate every cell, un-blind with the key, store beside the runs.

Reads, under the folders given (recursively): saved HTML-form files (`*.json` with format clue-ratings-sheet/1)
and filled spreadsheets (`*.csv`, `*.xlsx` with `sheet`, `item`, `output` columns). Blank rows (no score, no
note) are skipped, so untouched copies of a sheet do no harm. Every problem is one line — a sheet the key does
not know, an unknown item or output, a score off the scale, a missing score column, the same output rated twice
by one rater (in one file or across files) — and if there is any, nothing is stored.

Stored: `<run dir>/ratings/<export id>.json` for every run of the export (owner-only when the task is
credentialed: notes may quote the record). Importing again replaces that file; the returned sheets stay the source.
One import is one unit: every run's file carries the same `import` id and all are staged in full before any is
renamed into place (`clue.files.write_together`), so a failed import changes nothing; a set cut short between the
renames (kill -9) shows as mixed import ids, which the report flags (`mixed_imports`) until the import is re-run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from clue.errors import ConfigError, DataError, UserError
from clue.files import write_together
from clue.privacy import credentialed_tasks
from clue.ratings.export import KEY_FORMAT
from clue.ratings.rubric import Rubric, from_dict

SHEET_FORMAT = "clue-ratings-sheet/1"
STORE_FORMAT = "clue-ratings/1"
_HEADER_SUFFIX = re.compile(r"\s*\[[^\]]*\]\s*$")


class InvalidSheets(UserError):
    """One line per bad cell; the CLI prints them all."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the returned sheets; nothing was stored",
                         "fix the cells named above (or ask the rater) and import again")


@dataclass
class Row:
    file: Path
    where: str  # "row 4" (spreadsheet row, header = row 1) or "rating 3" (saved form)
    sheet: str
    item: str
    output: str
    raw: dict[str, Any]  # axis key → cell value as read
    notes: str
    scores: dict[str, int | None] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not self.notes.strip() and all(v is None or str(v).strip() == "" for v in self.raw.values())

    def label(self) -> str:
        return f"{self.file.name} {self.where} (item {self.item}, output {self.output})"


@dataclass
class ImportResult:
    stored: list[Path]
    files: list[Path]
    skipped: list[Path]
    ratings: int
    empty_scores: int
    raters: list[str]


def find_key(dirs: Sequence[Path], key: Path | None) -> Path:
    if key is not None:
        if key.is_dir():
            key = key / "key" / "key.json" if (key / "key" / "key.json").is_file() else key / "key.json"
        if not key.is_file():
            raise ConfigError(f"key file {key} does not exist", "pass the key.json written by `clue ratings export` (DIR/key/key.json)")
        return key
    for d in dirs:
        for base in (d, d.parent):
            if (base / "key" / "key.json").is_file():
                return base / "key" / "key.json"
    raise ConfigError("no key file found next to the sheets", "pass --key <export folder>/key/key.json")


def load_key(path: Path) -> tuple[dict[str, Any], Rubric]:
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"key file {path} cannot be read ({exc})", "pass the key.json written by `clue ratings export`") from None
    if not isinstance(key, dict) or key.get("format") != KEY_FORMAT:
        raise DataError(f"{path} is not a ratings key ({KEY_FORMAT})", "pass the key.json written by `clue ratings export`")
    return key, from_dict(key.get("rubric"), where=f"the rubric in {path}")


def _axis_columns(header: Iterable[str], rubric: Rubric) -> dict[str, str]:
    """{axis key: column name} for the columns present (header `faithfulness [1-4]` or `faithfulness`)."""
    out = {}
    for col in header:
        name = _HEADER_SUFFIX.sub("", str(col or "")).strip().lower()
        if name in rubric.keys:
            out[name] = str(col)
    return out


def _table_rows(path: Path, header: list[str], records: Iterable[list[Any]], rubric: Rubric,
                problems: list[str]) -> list[Row] | None:
    names = [str(h or "").strip() for h in header]
    lower = [n.lower() for n in names]
    if not {"sheet", "item", "output"} <= set(lower):
        return None  # not a rating sheet
    axes = _axis_columns(names, rubric)
    missing = [a for a in rubric.keys if a not in axes]
    if missing:
        problems.append(f"{path.name}: no score column for {', '.join(missing)} — keep the sheet's columns as exported")
        return []
    idx = {n: lower.index(n) for n in ("sheet", "item", "output")}
    notes_at = lower.index("notes") if "notes" in lower else None
    rows = []
    for number, rec in enumerate(records, start=2):
        rec = list(rec) + [None] * (len(names) - len(rec))
        if all(v is None or str(v).strip() == "" for v in rec):
            continue
        sheet, item, output = ("" if rec[idx[k]] is None else str(rec[idx[k]]).strip() for k in ("sheet", "item", "output"))
        rows.append(Row(path, f"row {number}", sheet, item, output,
                        {a: rec[names.index(col)] for a, col in axes.items()},
                        "" if notes_at is None or rec[notes_at] is None else str(rec[notes_at])))
    return rows


def read_file(path: Path, rubric: Rubric, problems: list[str]) -> list[Row] | None:
    """Rows of one returned file; None when it is not a rating sheet at all."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8-sig"))
            if not isinstance(data, dict) or data.get("format") != SHEET_FORMAT:
                return None
            ratings = data.get("ratings")
            if not isinstance(ratings, list):
                problems.append(f"{path.name}: no list of ratings — save it again from the HTML sheet")
                return []
            rows = []
            for i, r in enumerate(ratings, start=1):
                if not isinstance(r, dict):
                    problems.append(f"{path.name} rating {i}: not an object — save it again from the HTML sheet")
                    continue
                raw_scores = r.get("scores")
                scores = raw_scores if isinstance(raw_scores, dict) else {}
                unknown = [k for k in scores if k not in rubric.keys]
                for k in unknown:
                    problems.append(f"{path.name} rating {i}: axis {k!r} is not in the rubric ({', '.join(rubric.keys)})")
                rows.append(Row(path, f"rating {i}", str(data.get("sheet", "")), str(r.get("item", "")), str(r.get("output", "")),
                                {a: scores.get(a) for a in rubric.keys}, str(r.get("notes") or "")))
            return rows
        if suffix == ".csv":
            raw = path.read_bytes()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("cp1252", "replace")  # Excel's plain "CSV" on Windows
            first = text.split("\n", 1)[0]
            delimiter = max(",;\t", key=first.count)  # Excel in many locales writes ';'
            records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            return _table_rows(path, records[0], records[1:], rubric, problems) if records else None
        if suffix == ".xlsx":
            from openpyxl import load_workbook

            wb = load_workbook(path, read_only=True, data_only=True)
            ws = wb["ratings"] if "ratings" in wb.sheetnames else wb.worksheets[0]
            records = [list(r) for r in ws.iter_rows(values_only=True)]
            wb.close()
            return _table_rows(path, [str(h or "") for h in records[0]], records[1:], rubric, problems) if records else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, csv.Error, ValueError, KeyError) as exc:
        problems.append(f"{path.name}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}) — "
                        "send it again as saved by the sheet or spreadsheet program")
        return []
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zipfile/XML errors of many kinds for a damaged workbook
        problems.append(f"{path.name}: not a readable workbook ({type(exc).__name__}) — save it again as .xlsx")
        return []
    return None


def _score(value: Any, rubric: Rubric) -> tuple[int | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None, f"{str(value)!r} is not a score"
    if number != int(number) or not rubric.low <= number <= rubric.high:
        return None, f"{str(value).strip()!r} is outside the {rubric.low}–{rubric.high} scale"
    return int(number), None


def validate(rows: list[Row], key: dict[str, Any], rubric: Rubric) -> list[str]:
    """Fill each row's scores; return one line per problem."""
    problems: list[str] = []
    seen: dict[tuple[str, str, str], Row] = {}
    unknown_sheets: dict[tuple[Path, str], int] = {}
    for row in rows:
        sheet = key["sheets"].get(row.sheet)
        if sheet is None:
            unknown_sheets[(row.file, row.sheet)] = unknown_sheets.get((row.file, row.sheet), 0) + 1
            continue
        if row.output not in sheet["outputs"].get(row.item, {}):
            what = f"item {row.item!r}" if row.item not in sheet["outputs"] else f"output {row.output!r} of item {row.item}"
            problems.append(f"{row.file.name} {row.where}: unknown {what} — not on sheet {row.sheet}")
            continue
        for axis in rubric.keys:
            value, problem = _score(row.raw.get(axis), rubric)
            row.scores[axis] = value
            if problem:
                problems.append(f"{row.label()} {axis}: {problem}")
        ident = (row.sheet, row.item, row.output)
        if ident in seen:
            first = seen[ident]
            problems.append(f"{row.label()}: rated twice by {sheet['rater']} (also {first.file.name} {first.where}) — keep one")
        else:
            seen[ident] = row
    for (path, sheet_id), count in unknown_sheets.items():
        problems.append(f"{path.name}: sheet {sheet_id or '(empty)'!r} is not in this export's key ({count} row(s)) — "
                        "import it with the key of the export it came from")
    return problems


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_ratings(dirs: Sequence[Path], key_path: Path | None = None) -> ImportResult:
    key_file = find_key(list(dirs), key_path)
    key, rubric = load_key(key_file)
    missing_dirs = [d for d in dirs if not d.is_dir()]
    if missing_dirs:
        raise ConfigError(f"{missing_dirs[0]} is not a folder", "pass the folder(s) holding the returned sheets")
    problems: list[str] = []
    files, skipped, rows = [], [], []
    candidates = sorted({p.resolve() for d in dirs for p in d.rglob("*")
                         if p.is_file() and p.suffix.lower() in (".json", ".csv", ".xlsx") and not p.name.startswith("~$")})
    for path in candidates:
        if path == key_file.resolve():
            continue
        got = read_file(path, rubric, problems)
        if got is None:
            skipped.append(path)
            continue
        files.append(path)
        rows += [r for r in got if not r.blank]
    problems += validate(rows, key, rubric)
    if problems:
        raise InvalidSheets(problems)
    if not rows:
        raise DataError(f"no ratings found under {', '.join(map(str, dirs))}",
                        "pass the folder(s) holding the returned .ratings.json / .csv / .xlsx files")
    runs = key["runs"]
    for run in runs:
        if not (Path(run["dir"]) / "scores.json").is_file():
            raise DataError(f"run {run['name']} from the key is no longer at {run['dir']}", "restore it there, then import again")
    per_run: list[list[dict[str, Any]]] = [[] for _ in runs]
    for row in rows:
        sheet = key["sheets"][row.sheet]
        run_index = sheet["outputs"][row.item][row.output]
        per_run[run_index].append({"sample_id": key["items"][row.item], "rater": sheet["rater"], "scores": row.scores,
                                   "notes": row.notes})
    # the key's own flag or the one rule of clue.phi (the report's), whichever is stricter: a hand-edited key cannot
    # make patient text world-readable
    private = bool(key.get("credentialed", True)) or bool(credentialed_tasks({str(run["task"]) for run in runs}))
    stored = []
    imported = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    import_id = secrets.token_hex(6)
    docs: dict[Path, str] = {}
    sources = {str(p): _sha256(p) for p in files}
    raters = sorted({key["sheets"][r.sheet]["rater"] for r in rows})
    for run, ratings in zip(runs, per_run):
        ratings.sort(key=lambda r: (r["rater"], r["sample_id"]))
        doc = {"format": STORE_FORMAT, "export": key["export"], "task": run["task"], "title": key["title"],
               "rubric": rubric.as_dict(), "credentialed": key.get("credentialed"), "seed": key.get("seed"),
               "run": run["name"], "runs": [r["name"] for r in runs], "raters": raters, "items": sorted(key["items"].values()),
               "import": import_id, "imported": imported, "sources": sources, "ratings": ratings}
        path = Path(run["dir"]) / "ratings" / f"{key['export']}.json"
        docs[path] = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
        stored.append(path)
    write_together(docs, private=private, what=f"the ratings of export {key['export']}")
    empty = sum(1 for r in rows for v in r.scores.values() if v is None)
    return ImportResult(stored, files, skipped, len(rows), empty, raters)
