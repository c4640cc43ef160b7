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


def kept_or_computed(path: Path, key: str, compute: Callable[[], T], *, dump: Callable[[T], Any], load: Callable[[Any], T],
                     keep: int, private: bool) -> T:
    entries: dict[str, Any] = {}
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        entries = kept["entries"] if isinstance(kept, dict) and isinstance(kept.get("entries"), dict) else {}
        if key in entries:
            return load(entries[key])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    value = compute()
    entries = {k: v for k, v in list(entries.items())[-(keep - 1):]} | {key: dump(value)}
    from clue.files import write_atomic

    try:
        write_atomic(path, json.dumps({"entries": entries}) + "\n", private=private)
    except UserError:
        pass
    return value
