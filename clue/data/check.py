"""`clue run`'s data check: the sha256 of every data file the run's tasks read, compared with the hash the kit
knows (or the lock file recorded on first fetch), and recorded in run.json (`data_files`).

A mismatch stops the run with one line naming the file, the expected and the found hash, unless
`--allow-data-mismatch` (then it is recorded as allowed). Not compared, only recorded: a file found at
one of its other accepted places (e.g. a public sample: not the release), and data directories the kit
filled with bundled samples or synthetic items (`--synthetic`, or marked in the lock file).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

from clue.data.lock import bundled, expected
from clue.datafiles import DataFile
from clue.errors import ConfigError, DataError
from clue.files import file_sha256
from clue.tasks import Task


def _declared(benchmark: str | None, tasks: Sequence[Task]) -> tuple[DataFile, ...]:
    from clue.benchmark import resolve

    try:
        return resolve(benchmark, ",".join(t.name for t in tasks)).data
    except ConfigError:  # tasks of no single installed benchmark (tests, notebooks): nothing declared
        return ()


def check_run_data(benchmark: str | None, tasks: Sequence[Task], data_dir: Path, *, allow_mismatch: bool = False,
                   synthetic: bool = False) -> dict[str, Any]:
    """{"files": {dest: {path, sha256, expected, check}}, "mismatches": [...], "allow_mismatch": bool}."""
    data_dir = Path(data_dir)
    names = {t.name for t in tasks}
    kit_filled = "synthetic items (--synthetic)" if synthetic else bundled(data_dir)
    files: dict[str, dict[str, Any]] = {}
    bad: list[tuple[str, str, str, str]] = []
    for item in (f for f in _declared(benchmark, tasks) if f.task in names):
        found = item.locate(data_dir)
        if found is None:
            continue
        path, own = found
        if path.is_dir():
            files[item.dest] = {"path": str(path), "sha256": None, "expected": None, "check": "directory (not hashed)"}
            continue
        got = file_sha256(path)
        want, origin = expected(item, data_dir)
        if not own:
            check = "another copy (not the release): not compared"
        elif kit_filled:
            check = f"filled by the kit ({kit_filled}): not compared"
        elif want is None:
            check = "no known sha256"
        elif got == want:
            check = f"sha256 ok ({origin})"
        else:
            check = "MISMATCH (allowed: --allow-data-mismatch)" if allow_mismatch else "MISMATCH"
            bad.append((item.dest, str(path), want, got))
        files[item.dest] = {"path": str(path), "sha256": got, "expected": want if own else None, "check": check}
    for task in tasks:  # files a task reads that its benchmark declares no source for (e.g. a built file)
        for name in task.files:
            local = data_dir / task.name / name
            if f"{task.name}/{name}" not in files and local.is_file():
                files[f"{task.name}/{name}"] = {"path": str(local), "sha256": file_sha256(local), "expected": None,
                                                "check": "no known sha256"}
    if bad and not allow_mismatch:
        dest, where, want, got = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise DataError(f"data file {where} has sha256 {got}, expected {want}{more}",
                        f"fetch it again (`clue data fetch {dest.split('/')[0]}`), or pass --allow-data-mismatch to run on it "
                        "anyway (recorded in run.json)")
    for _dest, where, want, got in bad:  # allowed: said once per file, and recorded
        print(f"clue: note: data file {where} has sha256 {got}, expected {want}; running on it (--allow-data-mismatch, "
              "recorded in run.json)", file=sys.stderr)
    return {"files": files, "mismatches": [b[0] for b in bad], "allow_mismatch": allow_mismatch}
