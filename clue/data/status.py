"""`clue data status`: which task files are present, missing or mismatched, and how to get each.

Task files are the registered tasks' `files` under `<data_dir>/<task.name>/`; the hashes they
are checked against are the kit's bundled ones, else those recorded on first fetch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clue.data.declared import sources as _src
from clue.data.fetch import physionet_credentials, recorded, sha256_file


@dataclass(frozen=True)
class FileStatus:
    task: str
    dest: str
    state: str  # present | missing | mismatch
    checked: str  # "sha256 ok" | "no known sha256" | ""
    how: str  # how to get it (for missing / mismatch)
    build_input: bool = False


def _how(task: str, item: Any, fallback: str, has_creds: bool, benchmark: str | None = None) -> str:
    if task in _src(benchmark).BUILT and item is None:
        return f"build it: {_src(benchmark).BUILT[task]} (inputs: `clue data fetch {task}`)"
    if item is None:
        return f"get it from {fallback}"
    if item.url() is None and not item.pick:  # no stable URL: placed by hand
        return item.manual()
    if item.credentialed:
        creds = "credentials found" if has_creds else "set PHYSIONET_USERNAME/PHYSIONET_PASSWORD or ~/.netrc first: none found"
        return (f"`clue data fetch {task}` — PhysioNet credentialed access, signed DUA ({item.page}); {creds}; "
                f"or download it there and save it as <data-dir>/{item.dest}")
    return f"`clue data fetch {task}` (public, {item.page})"


def _present(path: Path, dest: str) -> bool:
    """A task file is present; a name ending in "/" is a directory the task reads."""
    return path.is_dir() if dest.endswith("/") else path.is_file()


def task_files(data_dir: Path, benchmark: str | None = None) -> list[tuple[str, str, Any, str]]:
    """(task, dest, source entry or None, task.source) for every file of every registered task."""
    from clue.benchmark import resolve

    by_dest = {s.dest: s for s in _src(benchmark).SOURCES}
    rows = []
    for task in resolve(benchmark).tasks.values():
        for name in task.files:
            dest = f"{task.name}/{name}"
            rows.append((task.name, dest, by_dest.get(dest), task.source))
    return rows


def status(data_dir: Path, *, verify: bool = True, benchmark: str | None = None) -> list[FileStatus]:
    data_dir = Path(data_dir)
    src = _src(benchmark)
    known = {**recorded(data_dir), **src.KNOWN_SHA256}
    has_creds = physionet_credentials() is not None
    out: list[FileStatus] = []

    def check(task: str, dest: str, how: str, build_input: bool = False) -> None:
        path = data_dir / dest
        if not _present(path, dest):
            out.append(FileStatus(task, dest, "missing", "", how, build_input))
            return
        if dest.endswith("/"):  # a directory of files (e.g. report trees): present, nothing to hash
            out.append(FileStatus(task, dest, "present", "directory", "", build_input))
            return
        expected = known.get(dest)
        if expected is None or not verify:
            out.append(FileStatus(task, dest, "present", "no known sha256" if expected is None else "", "", build_input))
        elif sha256_file(path) == expected:
            out.append(FileStatus(task, dest, "present", "sha256 ok", "", build_input))
        else:
            out.append(FileStatus(task, dest, "mismatch", "sha256 differs from the manifest",
                                  f"delete {path} and {how}", build_input))

    for task, dest, item, fallback in task_files(data_dir, benchmark):
        check(task, dest, _how(task, item, fallback, has_creds, benchmark))
        if task in src.BUILT and not (data_dir / dest).is_file():  # show the build inputs while the file is missing
            for inp in (s for s in src.SOURCES if s.task == task and s.build_input):
                check(task, inp.dest, _how(task, inp, fallback, has_creds, benchmark), build_input=True)
    return out


def missing_tasks(task_names: list[str], data_dir: Path, benchmark: str | None = None) -> dict[str, str]:
    """{task: how to get its data} for the tasks whose files are not all present (no hashing)."""
    wanted = set(task_names)
    missing: dict[str, str] = {}
    for task, dest, item, _fallback in task_files(data_dir, benchmark):
        if task in wanted and not _present(Path(data_dir) / dest, dest) and task not in missing:
            how = f"`clue data fetch {task}`" if item or task not in _src(benchmark).BUILT else _src(benchmark).BUILT[task]
            missing[task] = f"data/{dest} missing — " + how
    return missing


def format_status(rows: list[FileStatus], data_dir: Path) -> str:
    lines = [f"data directory: {Path(data_dir).resolve()}"]
    width = max(len(r.dest) for r in rows) if rows else 10
    for r in rows:
        label = "  input" if r.build_input else r.task
        state = r.state + (f" ({r.checked})" if r.checked else "")
        lines.append(f"{label:<15} {r.dest:<{width}}  {state}")
        if r.how:
            lines.append(f"{'':<15} → {r.how}")
    present = sum(1 for r in rows if r.state == "present" and not r.build_input)
    total = sum(1 for r in rows if not r.build_input)
    lines.append(f"{present} of {total} task file(s) present")
    return "\n".join(lines)
