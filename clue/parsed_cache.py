"""A checksummed parsed copy of large source files (e.g. the MeQSum xlsx), so re-runs don't re-parse.

Reading the MeQSum workbook costs ~0.3 s of pandas + openpyxl imports and ~0.1 s of parsing on
every `clue run` (issue 16); its records as JSON load in a few milliseconds. The copy is keyed
by the SHA-256 of the source file's bytes and the parser's version: a changed file (or parser)
is parsed afresh, never served stale. JSON, not pickle: loading it can never run code.

Where: the folder of the enclosing `with caching(folder):` block — `clue run` opens one around reading
its tasks' data, at `<store folder>/parsed/` beside the response store; outside such a block nothing
is cached (the setting is a context variable, restored when the block ends: no global left behind).
Files are owner-only (0600 in a 0700 folder), since a source may be credentialed. A cache that cannot be written or read is skipped silently: the
file is parsed as before.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Callable, Iterator

from clue.files import file_sha256

_dir: ContextVar[Path | None] = ContextVar("clue_parsed_cache_dir", default=None)


@contextmanager
def caching(folder: Path | None) -> Iterator[None]:
    """Inside the block, `records` keeps parsed copies under `folder` (None: no caching)."""
    token = _dir.set(folder)
    try:
        yield
    finally:
        _dir.reset(token)


def records(path: Path, parse: Callable[[Path], list[dict[str, Any]]], version: str) -> list[dict[str, Any]]:
    """`parse(path)`, or its JSON copy made earlier from the same bytes by the same parser `version`."""
    folder = _dir.get()
    if folder is None:
        return parse(path)
    try:
        key = f"{file_sha256(path)}.{version}.json"
    except OSError:
        return parse(path)  # let the parser report the unreadable file its own way
    cached = folder / key
    try:
        data = json.loads(cached.read_text(encoding="utf-8"))
        if data.get("sha256") == key.split(".")[0] and isinstance(data.get("records"), list):
            return data["records"]
    except (OSError, ValueError, AttributeError):
        pass
    rows = parse(path)
    _write(cached, {"source": path.name, "sha256": key.split(".")[0], "parser": version, "records": rows})
    return rows


def _write(target: Path, data: dict[str, Any]) -> None:
    tmp = None
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".parsed-", suffix=".tmp")  # mkstemp: mode 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError):  # read-only store folder, full disk, a value JSON cannot hold
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


__all__ = ["caching", "records"]
