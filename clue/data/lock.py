"""The data directory's lock file, `<data-dir>/clue-data.lock.json`: the sha256 of every file fetched without
a hash known to the kit (recorded on first download; every later fetch, `clue data status` and `clue run`
check against it), and a mark on directories the kit filled with bundled samples or synthetic stand-ins
(their hashes are recorded by runs, never compared with the releases). An older `checksums.json`
({dest: sha256}) is still read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from clue.datafiles import DataFile
from clue.errors import DataError
from clue.files import write_atomic

LOCK = "clue-data.lock.json"
LEGACY = "checksums.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:  # absent, or the data dir is not a folder (the run's own check says so)
        return {}
    except (ValueError, UnicodeDecodeError):
        raise DataError(f"{path} is not valid JSON", "delete it; hashes are recorded again on the next fetch") from None
    return data if isinstance(data, dict) else {}


def read_lock(data_dir: Path) -> dict[str, Any]:
    return _read(Path(data_dir) / LOCK)


def recorded(data_dir: Path) -> dict[str, str]:
    """{dest: sha256} recorded on earlier fetches (the lock file, then the older checksums.json)."""
    legacy = {str(k): str(v) for k, v in _read(Path(data_dir) / LEGACY).items() if isinstance(v, str)}
    files = read_lock(data_dir).get("files") or {}
    return {**legacy, **{str(k): str(v["sha256"]) for k, v in files.items() if isinstance(v, dict) and v.get("sha256")}}


def record(data_dir: Path, dest: str, digest: str, source: str) -> Path:
    lock = read_lock(data_dir)
    files = dict(lock.get("files") or {})
    files[dest] = {"sha256": digest, "source": source, "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    lock["files"] = dict(sorted(files.items()))
    path = Path(data_dir) / LOCK
    write_atomic(path, json.dumps(lock, indent=2) + "\n", private=False)
    return path


def mark_bundled(data_dir: Path, what: str) -> None:
    """Mark `data_dir` as filled by the kit with bundled samples / synthetic items (`what` says which)."""
    lock = read_lock(data_dir)
    lock["bundled"] = what
    write_atomic(Path(data_dir) / LOCK, json.dumps(lock, indent=2) + "\n", private=False)


def bundled(data_dir: Path) -> str | None:
    value = read_lock(data_dir).get("bundled")
    return str(value) if value else None


def expected(item: DataFile, data_dir: Path) -> tuple[str | None, str]:
    """(sha256 the file at its own place must have, where that value comes from)."""
    if item.sha256:
        return item.sha256, "the kit"
    got = recorded(data_dir).get(item.dest)
    return (got, "recorded on first fetch") if got else (None, "")
