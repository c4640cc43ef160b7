"""The `clue report` and `clue verify` subcommands: their options and what they do.

Kept here (not in clue/cli.py) so the report/verify owner can change options in one place;
cli.py only wires them in. Imports of the heavy parts (numpy, matplotlib) happen on use.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clue.errors import ConfigError
from clue.verdict import DEFAULT_MARGIN, EXIT_DEVIATES, EXIT_INCONCLUSIVE, EXIT_REPRODUCED, MIN_ITEMS

VERIFY_EPILOG = (f"Verdicts: reproduced = the whole 95% CI lies within published ± --margin (equivalence test); "
                 f"deviates = the published value lies outside the 95% CI; otherwise inconclusive (with the smallest "
                 f"detectable deviation and ~items needed). Runs on synthetic data or a --limit subset, and fewer than "
                 f"{MIN_ITEMS} items, are never reproduced. Exit status: {EXIT_REPRODUCED} all reproduced, {EXIT_DEVIATES} "
                 f"something deviates, {EXIT_INCONCLUSIVE} nothing deviates but not all is reproduced, 2 a usage error.")


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(":")
    if not sep or not a or not b:
        raise argparse.ArgumentTypeError(f"{text!r} is not RUN_A:RUN_B")
    return a, b


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--margin", "--tolerance", dest="tolerance", type=float, default=DEFAULT_MARGIN,
                   help=f"equivalence margin in percent points: reproduced only when the whole 95%% CI lies within "
                        f"published ± margin (default {DEFAULT_MARGIN:g})")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates for the CIs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--published-model", default=None, metavar="NAME",
                   help="compare with this published model instead of the one matching the run's model id")
    p.add_argument("--accept-edited", action="store_true",
                   help="go on when a run's scores.json/samples.jsonl differ from the digests its run.json recorded "
                        "(edited after the run); the edited results are marked")


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", type=Path, help="run directories written by `clue run`")
    p.add_argument("--out", type=Path, default=Path("reports/latest"), help="output folder (index.html, results.csv)")
    p.add_argument("--redact", action="store_true",
                   help="omit prompts (source documents), outputs and references of credentialed tasks, to share the report")
    p.add_argument("--max-samples", type=int, default=50, help="samples shown per run and task, plus as many failed/wrong (default 50)")
    p.add_argument("--samples-budget", type=int, default=None, metavar="N",  # None: clue.report.samples.SAMPLE_BUDGET
                   help="rows in the whole sample browser, at most; each run × task keeps its worst (default 1500)")
    p.add_argument("--prices", default=None, metavar="FILE", help="price table, USD per 1M tokens by model id (default: bundled, empty)")
    p.add_argument("--include-synthetic", action="store_true",
                   help="rank runs on synthetic data among the published models and plot them (default: listed apart, labelled)")
    p.add_argument("--compare", type=_pair, action="append", default=[], metavar="RUN_A:RUN_B",
                   help="paired comparison of two runs (directory names); repeatable. Default: all pairs up to 6 runs")
    p.add_argument("--equivalence", type=float, default=None, metavar="M",
                   help="equivalence margin of the paired comparisons in percent points (clue compare's verdicts and forest "
                        "plot; default: --margin)")
    _add_common(p)


def add_verify_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = VERIFY_EPILOG
    p.add_argument("runs", nargs="*", type=Path, help="run directories written by `clue run`")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every check as JSON")
    p.add_argument("--all", action="store_true", help="also list checks without a published reference")
    p.add_argument("--list-models", action="store_true", help="list the published models and their HF ids, then exit")
    _add_common(p)


def _check_numbers(args: argparse.Namespace) -> None:
    budget = getattr(args, "samples_budget", None)
    if args.bootstrap < 1 or args.tolerance < 0 or getattr(args, "max_samples", 1) < 1 or (budget is not None and budget < 1) \
            or (getattr(args, "equivalence", None) or 0) < 0:
        raise ConfigError("--bootstrap, --max-samples and --samples-budget must be at least 1 and --margin/--equivalence "
                          "not negative", "fix the option")


def report_command(args: argparse.Namespace) -> int:
    from clue.report import build_report

    _check_numbers(args)
    path = build_report(args.runs, args.out, redact=args.redact, max_samples=args.max_samples,
                        **({"samples_budget": args.samples_budget} if args.samples_budget is not None else {}), replicates=args.bootstrap,
                        seed=args.seed, tolerance=args.tolerance, prices=args.prices, compare=list(args.compare),
                        published_model=args.published_model, include_synthetic=args.include_synthetic,
                        equivalence=args.equivalence, accept_edited=args.accept_edited)
    print(f"report written to {path} (and {path.parent / 'results.csv'})")
    return 0


def verify_command(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve

    if args.list_models:
        chosen = resolve(getattr(args, "benchmark", None))
        if chosen.published is None or not chosen.published.models:
            raise ConfigError(f"{chosen.title} has no published models", "pass --benchmark NAME of one that has")
        for m in chosen.published.models.values():
            print(f"{m.name:<30} {m.type:<11} {m.hf_id or '(no HF id: ' + m.hf_id_status + ')'}")
        return 0
    if not args.runs:
        raise ConfigError("clue verify needs at least one run directory", "e.g. clue verify runs/<model>__<protocol>")
    _check_numbers(args)
    from clue.report.load import by_benchmark, load_runs, refuse_edited
    from clue.rundir import integrity_label
    from clue.verify import exit_status, format_table, scope_label, verify_run

    checks = []
    scopes = {}
    unverifiable = []
    runs = load_runs(list(args.runs))
    refuse_edited(runs, args.accept_edited)
    for runset in by_benchmark(runs):
        bench = runset.benchmark
        if bench is None or bench.published is None or not bench.published.values:
            what = f"no published {bench.title} numbers are bundled with this kit" if bench is not None else \
                "no installed benchmark knows these runs' tasks"
            unverifiable.append(f"clue: verify: {', '.join(r['name'] for r in runset.runs)}: {what}; nothing to verify")
            continue
        for run in runset.runs:
            checks += verify_run(bench, run, tolerance=args.tolerance, published_model=args.published_model,
                                 replicates=args.bootstrap, seed=args.seed)
            scopes[run["name"]] = "; ".join(x for x in (scope_label(run), integrity_label(run)) if x)
    for line in unverifiable:
        print(line)
    if args.json:
        from clue.files import write_text

        write_text(args.json, json.dumps([c.as_dict() for c in checks], indent=2) + "\n", what="--json")
    if not checks:
        return EXIT_INCONCLUSIVE  # nothing could be compared: not reproduced, and said why above
    print(format_table(checks, show_all=args.all, margin=args.tolerance, scopes=scopes))
    code = exit_status(checks)
    if code == EXIT_DEVIATES:
        print(f"clue: verify: some numbers deviate from the published ones (exit {code})", file=sys.stderr)
    elif code == EXIT_INCONCLUSIVE:
        print(f"clue: verify: nothing deviates, but not everything is shown reproduced (exit {code})", file=sys.stderr)
    return code
