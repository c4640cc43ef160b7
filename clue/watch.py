"""`clue watch --series DIR <clue run options>`: has the model behind an endpoint changed? One run per call, kept.

Each call makes one run into `DIR/run-NNN` with the given `clue run` options (the same items every time:
`--limit N` takes each task's first N; `--max-cost` caps what one run may spend), always asking the server again
(`--refresh`: a watch that read its answers from the response store would see no change), then judges it with
`clue compare`'s rule (clue/compare.py) against the previous run and against the first, and appends the outcome,
what differs (`system_fingerprint`, served model, …) and every task and group difference to `DIR/series.json`.

Exit status: 0 nothing changed (equivalent, or too few items to tell: inconclusive is said, not alerted), 1 a
change — a task score or group average `different` from the previous or the first run — with one line on stderr
naming what changed, for a scheduler to alert on; a failed run keeps its own status (3) and is not judged.
Not done here (issue 26): a stratified subset sized from a power calculation (the subset is `--limit`'s first N
items) and the report's "changed since" time-series section.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from clue.compare import Comparison, compare
from clue.errors import ConfigError
from clue.report.series import RUN_DIR
from clue.verdict import DEFAULT_MARGIN, EXIT_DEVIATES


def add_parser(sub: argparse._SubParsersAction) -> None:
    from clue.run_options import add_run_options

    p = sub.add_parser("watch", help="re-run a model on the same items, compare with the previous and the first run of the series "
                                     f"(exit 0 unchanged, {EXIT_DEVIATES} changed)")
    add_run_options(p)
    p.add_argument("--series", type=Path, required=True, help="folder of the series: run-001, run-002, … and series.json")
    p.add_argument("--equivalence", type=float, default=DEFAULT_MARGIN, metavar="M",
                   help=f"a change is a task or group difference whose 95%% CI excludes 0 and leaves ± M points (default {DEFAULT_MARGIN:g})")


def series_runs(series: Path) -> list[Path]:
    """The finished runs of a series, oldest first."""
    if not series.is_dir():
        return []
    runs = [d for d in series.iterdir() if RUN_DIR.match(d.name) and (d / "scores.json").is_file()]
    return sorted(runs, key=lambda d: int(RUN_DIR.match(d.name).group(1)))  # type: ignore[union-attr]


def _changes(c: Comparison) -> list[str]:
    return [f"{r.task} {r.diff:+.2f} points [{r.low:+.2f}, {r.high:+.2f}]" for r in c.rows
            if r.decides and r.outcome == "different" and r.low is not None and r.high is not None]


def _entry(label: str, c: Comparison) -> dict[str, Any]:
    return {"against": label, "run": c.b, "outcome": c.outcome, "changes": _changes(c),
            "differs": [{"field": f, "a": x, "b": y} for f, x, y in c.differs], "rows": [r.as_dict() for r in c.rows if r.decides]}


def watch(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int:
    """One step of the series: run (with `run`, i.e. `clue run`), judge, record, exit by outcome."""
    from clue.files import ensure_dir, write_text
    from clue.report.load import load_run

    if args.equivalence < 0:
        raise ConfigError("--equivalence must not be negative", "e.g. --equivalence 3")
    if args.out is not None:
        raise ConfigError("clue watch names its runs itself (DIR/run-NNN)", "drop --out; pass --series DIR")
    series = ensure_dir(args.series, "--series")
    before = series_runs(series)
    number = max([int(RUN_DIR.match(d.name).group(1)) for d in before] + [0]) + 1  # type: ignore[union-attr]
    args.out, args.refresh = series / f"run-{number:03d}", True
    args.store = args.store or series / "store.sqlite"
    code = run(args)
    if code != 0:
        return code
    new = load_run(args.out)
    judged: list[tuple[str, Comparison]] = []
    for label, path in (("previous", before[-1] if before else None), ("first", before[0] if before else None)):
        if path is None or (label == "first" and len(before) == 1):  # the first is the previous: judged once
            continue
        old = load_run(path)
        if old.get("benchmark") is not new.get("benchmark"):
            raise ConfigError(f"{path} is a run of another benchmark", f"use a new --series folder for {new['scores'].get('benchmark')}")
        judged.append((label, compare(new.get("benchmark"), new, old, margin=args.equivalence)))
    history_file = series / "series.json"
    history = json.loads(history_file.read_text(encoding="utf-8")) if history_file.is_file() else []
    history.append({"run": new["name"], "finished": new["record"].get("finished"),
                    "fingerprints": (new["record"].get("engine") or {}).get("system_fingerprints"),
                    "comparisons": [_entry(label, c) for label, c in judged]})
    write_text(history_file, json.dumps(history, indent=2) + "\n", what="--series")
    if not judged:
        print(f"watch: {new['name']} is the first run of {series}; the next runs are compared with it")
        return 0
    alerts = []
    for label, c in judged:
        differs = "; ".join(f"{f}: {x} → {y}" for f, y, x in c.differs if f not in ("endpoint",))
        print(f"watch: {new['name']} vs {label} ({c.b}): {c.outcome}" + (f"; {differs}" if differs else ""))
        if c.outcome == "different":
            alerts.append(f"changed since {c.b} ({label}): {', '.join(_changes(c))}" + (f"; {differs}" if differs else ""))
    if alerts:
        print(f"clue: watch: {new['name']} {' | '.join(alerts)}", file=sys.stderr)
        return EXIT_DEVIATES
    return 0
