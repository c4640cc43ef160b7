"""A report's paired comparisons kept beside the first run of each pair, so a report over unchanged runs does not
draw them again.

`<run A>/report-comparisons.json` maps a key to one comparison as the report shows it: clue.stats.compare_runs'
results and clue/report/forest.py's equivalence view (its rows, outcome and SVG chart). The key is the sha256 of both
runs' samples.jsonl and scores, their names, the pair's place in the report (the chart's ids), the options (replicates,
seed, margin) and the source of the code that computes and draws them (clue.report.summary's code digest, plus
clue.compare, forest and charts) — any change is another key. Written whole (clue.files.write_atomic), owner-only as
the run's other kept files; the last KEEP keys stay; a file that cannot be read or written is passed over.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from markupsafe import Markup

from clue.report.kept_file import kept_or_computed
from clue.report.summary import _code, _file_bytes
from clue.stats import Paired

NAME = "report-comparisons.json"
KEEP = 16


@lru_cache(maxsize=1)
def _drawing_code() -> str:
    import clue.compare
    import clue.report.charts
    import clue.report.forest

    return hashlib.sha256(b"".join(_file_bytes(m.__name__) for m in (clue.compare, clue.report.forest, clue.report.charts))).hexdigest()


def _key(a: dict[str, Any], b: dict[str, Any], salt: str, options: dict[str, Any]) -> str:
    parts = {"a": [a["name"], a["samples_sha"], a["scores"]], "b": [b["name"], b["samples_sha"], b["scores"]], "salt": salt,
             "options": options, "code": [_code(a.get("benchmark")), _code(b.get("benchmark")), _drawing_code()]}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _to_json(results: list[Paired], equivalence: dict[str, Any] | None) -> dict[str, Any]:
    eq = None
    if equivalence is not None:
        eq = {**equivalence, "rows": [[dataclasses.asdict(r), label] for r, label in equivalence["rows"]],
              "chart": str(equivalence["chart"]), "row_type": type(equivalence["rows"][0][0]).__name__ if equivalence["rows"] else None}
    return {"results": [dataclasses.asdict(p) for p in results], "equivalence": eq}


def _from_json(doc: dict[str, Any]) -> tuple[list[Paired], dict[str, Any] | None]:
    from clue.compare import Row

    results = [Paired(**p) for p in doc["results"]]
    eq = doc["equivalence"]
    if eq is not None:
        eq = dict(eq)
        eq.pop("row_type", None)
        eq["rows"] = [(Row(**r), label) for r, label in eq["rows"]]
        eq["chart"] = Markup(eq["chart"])
        eq["differs"] = tuple(tuple(x) for x in eq["differs"])
    return results, eq


def compared(a: dict[str, Any], b: dict[str, Any], salt: str, options: dict[str, Any], *, private: bool,
             compute: Callable[[], tuple[list[Paired], dict[str, Any] | None]]) -> tuple[list[Paired], dict[str, Any] | None]:
    """The comparison of loaded runs `a` and `b` (`compute()` where none is kept for these inputs)."""
    if not a.get("samples_sha") or not b.get("samples_sha"):  # built in memory: nothing to keep it beside
        return compute()
    return kept_or_computed(Path(a["dir"]) / NAME, _key(a, b, salt, options), compute, dump=lambda v: _to_json(*v),
                            load=_from_json, keep=KEEP, private=private)
