"""`clue data status`: which files are present, missing or mismatched, and how to get each — test files
and the train/dev files the few-shot pools come from.

The rows are the benchmark's declared `DataFile`s, plus every task file it declares none for (e.g. a
built file); a builder's inputs are shown while the file it builds is missing. A file found at one of
its `also` places (e.g. a folder of public samples) is present but not the release: its hash is not
compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clue.data.http import physionet_credentials
from clue.data.lock import expected
from clue.datafiles import DataFile, HubFile, PhysioNet
from clue.files import file_sha256


@dataclass(frozen=True)
class FileStatus:
    task: str
    dest: str
    state: str  # present | missing | mismatch
    checked: str  # "sha256 ok" | "no known sha256" | "directory" | where another copy was found | ""
    how: str  # how to get it (for missing / mismatch)
    build_input: bool = False
    role: str = "test"


def how_to_get(item: DataFile | None, task: str, data_dir: Path, has_creds: bool, usage: str | None = None,
               fallback: str = "") -> str:
    place = (Path(data_dir) / (item.dest if item else task)).resolve()
    if item is None:
        return f"build it: {usage} (inputs: `clue data fetch {task}`)" if usage else f"get it from {fallback}"
    if item.fetcher is None:
        return f"to place by hand: {place} — {item.note or 'get it from ' + item.page}"
    fetch = f"`clue data fetch {task}`"
    if isinstance(item.fetcher, PhysioNet):
        creds = "credentials found" if has_creds else "set PHYSIONET_USERNAME/PHYSIONET_PASSWORD or ~/.netrc first: none found"
        return f"{fetch} — PhysioNet credentialed access, signed DUA ({item.page}); {creds}; or download it there and save it as {place}"
    pinned = "" if item.fetcher.pin else "; source not pinned"
    via = "Hugging Face Hub" if isinstance(item.fetcher, HubFile) else "public"
    return f"{fetch} ({via}, {item.page or item.fetcher.where}{pinned})"


def rows_of(benchmark: str | None, data_dir: Path) -> list[tuple[DataFile | None, str, str, str]]:
    """(declared file or None, task, dest, how to get it) in task order."""
    from clue.benchmark import resolve

    bench = resolve(benchmark)
    has_creds = physionet_credentials() is not None
    builders = {b.name: b for b in bench.builders}
    out: list[tuple[DataFile | None, str, str, str]] = []
    for task in bench.tasks.values():
        declared = [f for f in bench.data if f.task == task.name and f.role != "input"]
        dests = {f.dest for f in declared}
        undeclared = [f"{task.name}/{n}" for n in task.files if f"{task.name}/{n}" not in dests]
        for dest in undeclared:
            usage = builders[task.name].usage if task.name in builders else None
            out.append((None, task.name, dest, how_to_get(None, task.name, data_dir, has_creds, usage, task.source)))
        out += [(f, task.name, f.dest, how_to_get(f, task.name, data_dir, has_creds)) for f in declared]
    return out


def status(data_dir: Path, *, verify: bool = True, benchmark: str | None = None) -> list[FileStatus]:
    from clue.benchmark import resolve

    data_dir = Path(data_dir)
    bench = resolve(benchmark)
    has_creds = physionet_credentials() is not None
    out: list[FileStatus] = []

    def check(item: DataFile | None, task: str, dest: str, how: str, build_input: bool = False) -> None:
        role = item.role if item else "test"
        found = item.locate(data_dir) if item else ((data_dir / dest, True) if (data_dir / dest).exists() else None)
        if found is None:
            out.append(FileStatus(task, dest, "missing", "", how, build_input, role))
            return
        path, own = found
        if path.is_dir():
            out.append(FileStatus(task, dest, "present", "directory", "", build_input, role))
            return
        if not own:
            out.append(FileStatus(task, dest, "present", f"another copy: {path} (not the release: sha256 not compared)", "",
                                  build_input, role))
            return
        want, origin = expected(item, data_dir) if item else (None, "")
        if want is None or not verify:
            out.append(FileStatus(task, dest, "present", "no known sha256" if want is None else "", "", build_input, role))
        elif (got := file_sha256(path)) == want:
            ok = "sha256 ok" + (f" ({origin})" if origin != "the kit" else "")
            out.append(FileStatus(task, dest, "present", ok, "", build_input, role))
        else:
            out.append(FileStatus(task, dest, "mismatch", f"sha256 {got} differs from {want}", f"delete {path}; then {how}",
                                  build_input, role))

    for item, task, dest, how in rows_of(benchmark, data_dir):
        check(item, task, dest, how)
        if item is None and not (data_dir / dest).is_file():  # a built file: show its inputs while it is missing
            for inp in (f for f in bench.data if f.task == task and f.role == "input"):
                check(inp, task, inp.dest, how_to_get(inp, task, data_dir, has_creds), build_input=True)
    return out


def missing_tasks(task_names: list[str], data_dir: Path, benchmark: str | None = None) -> dict[str, str]:
    """{task: how to get its data} for the tasks whose test files are not all present (no hashing)."""
    wanted = set(task_names)
    missing: dict[str, str] = {}
    for item, task, dest, how in rows_of(benchmark, data_dir):
        if task not in wanted or task in missing or (item is not None and item.role != "test"):
            continue
        present = item.locate(data_dir) is not None if item else (Path(data_dir) / dest).exists()
        if not present:
            missing[task] = f"{Path(data_dir) / dest} missing — " + (f"`clue data fetch {task}`" if item and not item.manual else how)
    return missing


def format_status(rows: list[FileStatus], data_dir: Path) -> str:
    lines = [f"data directory: {Path(data_dir).resolve()}"]
    width = max(len(r.dest) for r in rows) if rows else 10
    for r in rows:
        label = "  input" if r.build_input else r.task if r.role == "test" else f"  {r.role}"
        state = r.state + (f" ({r.checked})" if r.checked else "")
        lines.append(f"{label:<15} {r.dest:<{width}}  {state}")
        if r.how:
            lines.append(f"{'':<15} → {r.how}")
    tests = [r for r in rows if not r.build_input and r.role == "test"]
    pools = [r for r in rows if not r.build_input and r.role in ("train", "dev")]
    lines.append(f"{sum(1 for r in tests if r.state == 'present')} of {len(tests)} task file(s) present"
                 + (f"; {sum(1 for r in pools if r.state == 'present')} of {len(pools)} train/dev file(s)" if pools else ""))
    return "\n".join(lines)
