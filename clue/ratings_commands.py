"""`clue ratings export` and `clue ratings import`: options and what they print (cli.py only wires them in).

A command module, above both clue/ratings/ (what it runs) and clue/report/ (whose `load_runs` reads the runs to sample):
it lives outside clue/ratings/ so that the report imports the ratings and never the other way round."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_INVALID = 2


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ratings", help="clinician ratings: blinded sheets out, validated ratings in (shown by `clue report`)")
    verbs = p.add_subparsers(dest="ratings_command", required=True)
    ex = verbs.add_parser("export", help="a seeded stratified sample of one generation task, as one blinded sheet per rater")
    ex.add_argument("runs", nargs="+", type=Path, help="run directories written by `clue run` (the models to compare)")
    ex.add_argument("--task", required=True, help="the generation task to rate (name or title, e.g. meqsum)")
    ex.add_argument("--n", type=int, required=True, help="items to sample (every run's output for each is rated)")
    ex.add_argument("--seed", type=int, default=0, help="sampling and shuffling seed (default 0)")
    ex.add_argument("--raters", type=int, default=2, help="raters, one sheet each (default 2)")
    ex.add_argument("--out", type=Path, required=True, help="new folder for the sheets (rater-<k>/) and the key (key/)")
    ex.add_argument("--rubric", default=None, metavar="NAME|FILE",
                    help="bundled rubric (generic, clinicbench) or a rubric YAML file (default: generic)")
    ex.add_argument("--allow-phi-export", action="store_true",
                    help="export a credentialed task: its sheets carry patient text to the raters (your agreement must cover them)")
    im = verbs.add_parser("import", help="validate returned sheets, un-blind them with the key, store ratings beside the runs")
    im.add_argument("dirs", nargs="+", type=Path, help="folders holding the returned .ratings.json / .csv / .xlsx files")
    im.add_argument("--key", type=Path, default=None, help="the export's key.json (default: key/key.json in or next to a folder given)")


def cmd_ratings(args: argparse.Namespace) -> int:
    if args.ratings_command == "export":
        return _export(args)
    return _import(args)


def _export(args: argparse.Namespace) -> int:
    from clue.ratings.export import export
    from clue.ratings.rubric import load_rubric
    from clue.report.load import load_runs

    rubric = load_rubric(args.rubric)
    runs = load_runs(list(args.runs))
    result = export(runs, args.out, task=args.task, n=args.n, seed=args.seed, raters=args.raters, rubric=rubric,
                    allow_phi=args.allow_phi_export)
    print(f"{result.items} item(s) × {len(runs)} run(s) for {args.raters} rater(s), rubric {rubric.name}: sheets in "
          f"{result.out}/rater-*/ (html, csv, xlsx); key in {result.key} — keep it apart")
    if result.credentialed:
        print("the sheets hold patient text (credentialed task): files are owner-only (0600); send them only to raters "
              "your data use agreement covers")
    return 0


def _import(args: argparse.Namespace) -> int:
    from clue.ratings.importer import InvalidSheets, import_ratings
    from clue.terminal import inert

    try:
        result = import_ratings(list(args.dirs), args.key)
    except InvalidSheets as exc:
        for line in exc.problems:
            print(inert(f"clue: {line}"), file=sys.stderr)
        print(inert(f"clue: error: {exc.line()}"), file=sys.stderr)
        return EXIT_INVALID
    print(f"imported {result.ratings} rated output(s) from {len(result.files)} file(s), raters {', '.join(result.raters)}"
          + (f"; {result.empty_scores} score(s) left empty" if result.empty_scores else ""))
    if result.skipped:
        print(f"note: skipped {len(result.skipped)} file(s) that are not rating sheets: "
              f"{', '.join(p.name for p in result.skipped[:5])}{' …' if len(result.skipped) > 5 else ''}")
    for path in result.stored:
        print(f"stored {path}")
    return 0
