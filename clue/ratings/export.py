"""`clue ratings export`: a seeded stratified sample of a generation task's items, one blinded sheet per rater.

Layout of the export folder (send each rater their own folder; keep key/ with you):

    DIR/README.txt                       what to send where
    DIR/key/key.json                     the un-blinding key (which run produced which output) — never send it
    DIR/rater-<k>/<sheet>.html           offline form: input, reference, outputs side by side, one control per axis
    DIR/rater-<k>/<sheet>.csv|.xlsx      the same sheet as a spreadsheet

Blinding: a sheet names no model, run or sample id. Items get codes (I01, I02, … in a seeded order unrelated to
the runs), outputs get letters (A, B, …) drawn afresh for every item and rater, and each rater sees the items in
their own order. Only key.json maps codes and letters back. The input shown is the last user message of a run
that sent chat messages (the same for every model), else the first run's rendered prompt — which can carry that
model's chat-template markers; prefer runs with the `openai` engine when that matters. Model outputs can name
their maker in their own words; no export can hide that.

Credentialed tasks need --allow-phi-export; their sheets say they hold patient text and every file is 0600
(folders 0700). The export is written as one unit (`clue.files.write_folder`): an interrupted export leaves the
--out folder as it was, so the same command can simply be run again.
"""

from __future__ import annotations

import json
import secrets
import string
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from clue.errors import ConfigError, UserError
from clue.files import write_folder
from clue.ratings.rubric import Rubric
from clue.ratings.select import answered, check_task, eligible, stratified_sample, task_entry, task_name

KEY_FORMAT = "clue-ratings-key/1"
MAX_OUTPUTS = len(string.ascii_uppercase)


@dataclass
class ExportResult:
    out: Path
    key: Path
    sheets: list[Path]
    items: int
    credentialed: bool


def input_text(lines: Sequence[dict[str, Any]]) -> str:
    """What the model was asked: the last user message of a chat-message run, else the first run's prompt."""
    for line in lines:
        prompt = line.get("prompt")
        if isinstance(prompt, list):
            users = [m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
            if users:
                return str(users[-1])
    prompt = lines[0].get("prompt")
    return str(prompt) if isinstance(prompt, str) else ""


def _rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(key.encode("utf-8"))])


def plan(runs: Sequence[dict[str, Any]], task: str, n: int, seed: int, raters: int, rubric: Rubric,
         allow_phi: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(key, sheets): the un-blinding key and each rater's blinded sheet as data."""
    if not runs:
        raise ConfigError("clue ratings export needs at least one run directory", "e.g. clue ratings export runs/A runs/B --task meqsum ...")
    if len(runs) > MAX_OUTPUTS:
        raise ConfigError(f"{len(runs)} runs are more than the {MAX_OUTPUTS} outputs a sheet can show per item", "export fewer runs at once")
    if n < 1 or raters < 1:
        raise ConfigError("--n and --raters must be at least 1", "fix the option")
    credentialed, recorded = check_task(runs, task, allow_phi=allow_phi)
    names = [task_name(r, task) for r in runs]
    title = str(task_entry(runs[0], task).get("title", names[0]))
    ids, level = eligible(runs, task)
    if not ids:
        raise ConfigError(f"no {task} item was answered by every run", "pass runs that answered the same items")
    chosen = stratified_sample(ids, level, n, seed, key=names[0])
    order = _rng(seed, f"{names[0]}:codes").permutation(len(chosen))
    width = max(2, len(str(len(chosen))))
    codes = {chosen[int(j)]: f"I{pos + 1:0{width}d}" for pos, j in enumerate(order)}
    lines = [answered(r, nm) for r, nm in zip(runs, names)]
    export_id = secrets.token_hex(6)
    key: dict[str, Any] = {
        "format": KEY_FORMAT, "export": export_id, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "task": names[0], "title": title, "rubric": rubric.as_dict(), "credentialed": credentialed,
        "credentialed_recorded": recorded, "n": n, "seed": seed, "raters": raters,
        "runs": [{"name": r["name"], "dir": str(Path(r["dir"]).resolve()), "model": r["scores"].get("model"), "task": nm}
                 for r, nm in zip(runs, names)],
        "items": {codes[i]: i for i in chosen}, "sheets": {},
    }
    sheets = []
    for k in range(1, raters + 1):
        rng = _rng(seed, f"{names[0]}:rater{k}")
        sheet_id = f"{export_id}-r{k}"
        mapping: dict[str, dict[str, int]] = {}
        items = []
        for j in rng.permutation(len(chosen)):
            sid = chosen[int(j)]
            perm = [int(x) for x in rng.permutation(len(runs))]
            mapping[codes[sid]] = {string.ascii_uppercase[pos]: run_index for pos, run_index in enumerate(perm)}
            per_run = [lines[i][sid] for i in range(len(runs))]
            items.append({"code": codes[sid], "input": input_text(per_run), "reference": str(per_run[0].get("reference") or ""),
                          "outputs": [{"letter": string.ascii_uppercase[pos], "text": str(per_run[ri].get("output") or "")}
                                      for pos, ri in enumerate(perm)]})
        key["sheets"][sheet_id] = {"rater": f"rater-{k}", "outputs": mapping}
        sheets.append({"id": sheet_id, "rater": f"rater-{k}", "task_title": title, "rubric": rubric,
                       "credentialed": credentialed, "items": items})
    return key, sheets


README = """Clinician rating export {export} — task {title}, {n} item(s), {raters} rater(s), rubric {rubric}.

Send each rater only their own folder (rater-1/, rater-2/, ...). Each holds the same sheet three ways:
  <sheet>.html  open it in any browser (works offline); rate, then press "Save ratings" and send back the .ratings.json file
  <sheet>.csv / <sheet>.xlsx  fill the score columns ({low}-{high}) and notes in a spreadsheet and send the file back
Keep key/ with you: it is the only thing that says which model wrote which output.
When the sheets are back: clue ratings import <folder with the returned files> --key {key}
{phi}"""

PHI_NOTE = ("\nThese sheets hold patient text from credentialed (MIMIC-derived) data: only raters covered by your data use "
            "agreement may receive them; do not email them or upload them to online services. Files are owner-only (0600).\n")


def export(runs: Sequence[dict[str, Any]], out: Path, *, task: str, n: int, seed: int, raters: int, rubric: Rubric,
           allow_phi: bool = False) -> ExportResult:
    from clue.ratings.sheets import write_csv, write_html, write_xlsx

    key, sheets = plan(runs, task, n, seed, raters, rubric, allow_phi)
    out = Path(out)
    if (out / "key" / "key.json").exists():
        raise ConfigError(f"{out} already holds an export (key/key.json)", "pass a new --out folder; an export is never overwritten")
    private = bool(key["credentialed"])
    key_path = out / "key" / "key.json"
    files: dict[str, bytes] = {}
    written = []
    try:
        for sheet in sheets:
            for writer, suffix in ((write_html, ".html"), (write_csv, ".csv"), (write_xlsx, ".xlsx")):
                name = f"{sheet['rater']}/{sheet['id']}{suffix}"
                files[name] = writer(sheet)  # openpyxl builds a workbook through temporary files
                written.append(out / name)
    except OSError as exc:
        raise UserError(f"cannot build the sheets for --out {out} ({exc.strerror or exc})",
                        "free disk space (the temporary folder too), then run the same command again") from None
    readme = README.format(export=key["export"], title=key["title"], n=key["n"], raters=raters, rubric=rubric.name,
                           low=rubric.low, high=rubric.high, key=key_path, phi=PHI_NOTE if private else "")
    files["README.txt"] = readme.encode("utf-8")
    files["key/key.json"] = (json.dumps(key, indent=1) + "\n").encode("utf-8")  # last: in a shared folder it marks a whole export
    # one unit: staged in a temporary sibling and swapped in, so an interrupted export leaves nothing to delete by hand
    write_folder(out, files, private=private, what="--out")
    return ExportResult(out, key_path, written, len(key["items"]), private)
