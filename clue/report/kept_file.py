"""One keyed JSON file of computed values beside a run (`{"entries": {key: value}}`), the one read-or-compute step of
the report's kept CIs (summary.py) and kept comparisons (kept_pairs.py).

The value under `key` is read back where the file holds it; else computed, added as the newest of at most `keep`
entries and the file written whole (clue.files.write_atomic). A file that cannot be read, or an entry that cannot be
decoded, counts as not kept; a file that cannot be written (a read-only run directory) is passed over — the value is
computed again next time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, TypeVar

from clue.errors import UserError

T = TypeVar("T")


def _entries(path: Path) -> dict[str, Any]:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return kept["entries"] if isinstance(kept, dict) and isinstance(kept.get("entries"), dict) else {}


def is_kept(path: Path, key: str) -> bool:
    """Whether the file at `path` holds a value under `key` (one that may still fail to decode)."""
    return key in _entries(path)


def kept_or_computed(path: Path, key: str, compute: Callable[[], T], *, dump: Callable[[T], Any], load: Callable[[Any], T],
                     keep: int, private: bool) -> T:
    entries = _entries(path)
    if key in entries:
        try:
            return load(entries[key])
        except (ValueError, KeyError, TypeError):
            pass
    value = compute()
    entries = {k: v for k, v in list(entries.items())[-(keep - 1):]} | {key: dump(value)}
    from clue.files import write_atomic

    try:
        write_atomic(path, json.dumps({"entries": entries}) + "\n", private=private)
    except UserError:
        pass
    return value
