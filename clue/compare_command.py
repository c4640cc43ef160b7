"""The `clue compare` subcommand: its options, its terminal table and its --json file (the judging is clue/compare.py).

Prints both runs, what differs between them (settings, server provenance), one row per metric, task score
and group (A, B, A − B with its 95 % CI, the verdict), the overall outcome and the rule's paragraph; exits
0 equivalent, 1 different, 4 inconclusive, 2 a usage error (clue/verdict.py's statuses).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clue.compare import EXIT, Comparison, Row, rule_text
from clue.errors import ConfigError
from clue.verdict import DEFAULT_MARGIN


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help=f"is run A the same as run B within ± M points? paired on the same items (exit "
                                       f"{EXIT['equivalent']} equivalent, {EXIT['different']} different, "
                                       f"{EXIT['inconclusive']} inconclusive)")
    p.epilog = rule_text(DEFAULT_MARGIN).replace("%", "%%")
    p.add_argument("run_a", type=Path, metavar="RUN_A", help="run directory written by `clue run`")
    p.add_argument("run_b", type=Path, metavar="RUN_B", help="run directory of the same benchmark")
    p.add_argument("--equivalence", type=float, default=DEFAULT_MARGIN, metavar="M",
                   help=f"equivalence margin in percent points: equivalent only when the whole 95%% CI of A − B lies "
                        f"within ± M (default {DEFAULT_MARGIN:g})")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the comparison as JSON")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")


def _num(v: float | None, width: int = 7) -> str:
    return f"{v:{width}.2f}" if v is not None else f"{'—':>{width}}"


def describe(row: Row) -> str:
    """`different (A lower by 10.00 points)` / `inconclusive (~412 items needed)` / `equivalent`."""
    if row.outcome == "different":
        return f"different (A {row.direction} by {abs(row.diff):.2f} points)"
    if row.outcome == "inconclusive":
        needed = f"~{row.items_needed} items needed" if row.items_needed else ""
        return "inconclusive" + (f" ({'; '.join(x for x in (row.reason, needed) if x)})" if row.reason or needed else "")
    return row.outcome


def format_comparison(c: Comparison) -> str:
    lines = [f"A = {c.a}", f"B = {c.b}  ({c.benchmark}; margin ± {c.margin:g} points)"]
    for field, x, y in c.differs:
        lines.append(f"  differs: {field}: A {x} | B {y}")
    if not c.differs:
        lines.append("  no recorded setting differs")
    for task, only_a, only_b in c.unpaired:
        lines.append(f"  not paired: {task}: {only_a} scored item(s) only in A, {only_b} only in B (left out)")
    tw = max([6] + [len(r.task) for r in c.rows]) + 2
    mw = max([7] + [len(r.metric) for r in c.rows]) + 2
    lines.append(f"  {'task':<{tw}}{'metric':<{mw}}{'items':>6}{'A':>8}{'B':>8}{'A − B':>9} {'95% CI':<18} verdict")
    for r in c.rows:
        ci = f"[{r.low:+.2f}, {r.high:+.2f}]" if r.low is not None and r.high is not None else ""
        lines.append(f"  {r.task:<{tw}}{r.metric:<{mw}}{r.n:>6}{_num(r.a, 8)}{_num(r.b, 8)}{r.diff:+9.2f} {ci:<18} {describe(r)}")
    lines.append(f"overall: {c.outcome} (exit {c.exit_status})")
    lines.append("")
    lines.append(rule_text(c.margin, c.replicates))
    return "\n".join(lines)


def cmd_compare(args: argparse.Namespace) -> int:
    if args.bootstrap < 1 or args.equivalence < 0:
        raise ConfigError("--bootstrap must be at least 1 and --equivalence not negative", "fix the option")
    from clue.compare import compare_runs_checked
    from clue.report.load import load_runs

    run_a, run_b = load_runs([args.run_a, args.run_b])
    result = compare_runs_checked(run_a, run_b, margin=args.equivalence, replicates=args.bootstrap, seed=args.seed)
    if args.json:
        from clue.files import write_text

        write_text(args.json, json.dumps(result.as_dict(), indent=2) + "\n", what="--json")
    print(format_comparison(result))
    if result.outcome != "equivalent":
        print(f"clue: compare: {result.outcome} (exit {result.exit_status})", file=sys.stderr)
    return result.exit_status
