"""`clue watch --series DIR <clue run options>`: has the model behind an endpoint changed? One run per call, kept.

Each call makes one run into `DIR/run-NNN` with the given `clue run` options on the series' subset
(clue/watch_subset.py: per task, the items a paired test needs to detect `--detect` points with `--power` at
`--alpha`, stratified by gold label, drawn with `--subset-seed`; chosen by the first run, stored in
`DIR/subset.json`, and a later run whose design or chosen items differ is refused in one line), always asking the
server again (`--refresh`: a watch that read its answers from the response store would see no change). `--max-cost`
is checked before anything is sent: when the estimate's upper bound (clue/budget.py) exceeds it the run is refused
in one line (exit 2), nothing sent. Then it judges the run with `clue compare`'s rule (clue/compare.py) against the
previous run and against the first, and appends the outcome, what differs (`system_fingerprint`, served model, …)
and every task and group difference to `DIR/series.json`.

Exit status: 0 nothing changed (equivalent, or too few items to tell: inconclusive is said, not alerted), 1 a
change — a task score or group average `different` from the previous or the first run — with one line on stderr
naming what changed (task, size, 95 % CI, and what differs in the server's provenance), for a scheduler to alert
on; 2 a usage error (a refused subset or cost); a failed run keeps its own status (3) and is not judged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

from clue.compare import Comparison, compare
from clue.errors import ConfigError, DataError
from clue.report.series import RUN_DIR
from clue.verdict import DEFAULT_MARGIN, EXIT_DEVIATES
from clue.watch_subset import DEFAULT_ALPHA, DEFAULT_DETECT, DEFAULT_POWER, DEFAULT_SEED, Design, WatchSubset

SUBSET_FILE = "subset.json"


def add_parser(sub: argparse._SubParsersAction) -> None:
    from clue.run_options import add_run_options

    p = sub.add_parser("watch", help="re-run a model on the same power-sized subset, compare with the previous and the first run "
                                     f"of the series (exit 0 unchanged, {EXIT_DEVIATES} changed)")
    add_run_options(p)
    p.add_argument("--series", type=Path, required=True, help="folder of the series: run-001, run-002, …, subset.json and series.json")
    p.add_argument("--equivalence", type=float, default=DEFAULT_MARGIN, metavar="M",
                   help=f"a change is a task or group difference whose 95%% CI excludes 0 and leaves ± M points (default {DEFAULT_MARGIN:g})")
    p.add_argument("--detect", type=float, default=DEFAULT_DETECT, metavar="D",
                   help=f"size each task's subset to detect a change of D points (default {DEFAULT_DETECT:g}; more than --equivalence)")
    p.add_argument("--power", type=float, default=DEFAULT_POWER, help=f"power to detect it (default {DEFAULT_POWER:g})")
    p.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                   help=f"two-sided level the subset is sized for (default {DEFAULT_ALPHA:g}; changes are judged with 95%% CIs)")
    p.add_argument("--discordance", type=float, default=None, metavar="PSI",
                   help="assumed %% of items whose score changes when the model changes (default 2 × --detect; at least --detect)")
    p.add_argument("--subset-seed", type=int, default=DEFAULT_SEED,
                   help=f"seed of the subset's draw (default {DEFAULT_SEED}; --seed is the sampling seed sent to the server)")


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


def _subset(args: argparse.Namespace, series: Path) -> WatchSubset:
    """The series' subset: its stored design and items (subset.json), or a new one for the first run."""
    if args.limit is not None:
        raise ConfigError("clue watch sizes its subset itself (from --detect, --power, --alpha)", "drop --limit")
    for flag, on in (("--dry-run", getattr(args, "dry_run", False)), ("--batch", args.batch), ("--out", args.out is not None)):
        if on:
            raise ConfigError(f"clue watch does not take {flag} (it names its runs DIR/run-NNN and judges each at once)", f"drop {flag}")
    if args.detect <= args.equivalence:
        raise ConfigError(f"--detect {args.detect:g} is within --equivalence {args.equivalence:g}: a change that small counts as the same model",
                          f"pass a --detect above {args.equivalence:g}, or a smaller --equivalence")
    design = Design(args.detect, args.power, args.alpha, args.discordance, args.subset_seed)
    stored_file = series / SUBSET_FILE
    if not stored_file.is_file():
        return WatchSubset(design)
    try:
        stored = json.loads(stored_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{stored_file} is not readable JSON ({exc})", "restore it, or start a new --series") from None
    return WatchSubset(design, stored)


def _describe(record: dict[str, Any]) -> str:
    d = record["design"]
    parts = [f"{t['title']} {t['n']} of {t['n_available']}" + (f" (needs {t['n_needed']}: power {t['power']:.2f})" if t["n"] < t["n_needed"] else "")
             for t in record["tasks"].values()]
    return (f"{', '.join(parts)} items, sized to detect {d['detect']:g} points with power {d['power']:g} at α {d['alpha']:g} "
            f"(ψ {d['discordance']:g} %, subset seed {d['seed']}; ids sha256 {record['ids_sha256'][:12]})")


def watch(args: argparse.Namespace, run: Callable[[argparse.Namespace], int]) -> int:
    """One step of the series: run (with `run`, i.e. `clue run`), judge, record, exit by outcome."""
    from clue.files import ensure_dir, write_text
    from clue.report.load import load_run

    if args.equivalence < 0:
        raise ConfigError("--equivalence must not be negative", "e.g. --equivalence 3")
    series = ensure_dir(args.series, "--series")
    subset = _subset(args, series)
    before = series_runs(series)
    number = max([int(RUN_DIR.match(d.name).group(1)) for d in before] + [0]) + 1  # type: ignore[union-attr]
    args.out, args.refresh, args.subset, args.cap_before_sending = series / f"run-{number:03d}", True, subset, True
    args.store = args.store or series / "store.sqlite"
    code = run(args)
    if code != 0:
        return code
    chosen = subset.record()
    if subset.stored is None:
        write_text(series / SUBSET_FILE, json.dumps(subset.record(with_ids=True), indent=2) + "\n", what="--series")
        print(f"watch: subset: {_describe(chosen)}")
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
                    "subset": {"ids_sha256": chosen["ids_sha256"], "items": {t: v["n"] for t, v in chosen["tasks"].items()}},
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
