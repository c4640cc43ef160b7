"""`clue data status|fetch|build`: argument parsing for the data commands. `build`'s datasets and their
options come from the installed benchmarks' `Builder`s (a benchmark adds a builder without a core edit)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from clue.errors import ConfigError


def _builders() -> dict[str, Any]:
    from clue.benchmark import benchmarks

    out: dict[str, Any] = {}
    for bench in benchmarks().values():
        for b in bench.builders:
            out.setdefault(b.name, b)
    return out


def add_parser(sub: Any) -> None:
    p = sub.add_parser("data", help="fetch the datasets, check them, rebuild generated ones")
    actions = p.add_subparsers(dest="data_action", required=True)
    st = actions.add_parser("status", help="what is present, missing or mismatched, and how to get each file (train/dev too)")
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
    bu = actions.add_parser("build", help="rebuild a generated dataset from the files it derives from")
    kinds = bu.add_subparsers(dest="dataset", required=True, metavar="{" + ",".join(_builders()) + "}")
    for builder in _builders().values():
        one = kinds.add_parser(builder.name, help=builder.help)
        builder.add_arguments(one)
        one.add_argument("--data-dir", type=Path, default=Path("data"))
        one.add_argument("--benchmark", default=None, help="benchmark (default: the one owning the dataset)")


def cmd_data(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve

    names = [t.lower() for t in getattr(args, "tasks", None) or ([args.dataset] if getattr(args, "dataset", None) else [])]
    bench = resolve(args.benchmark, ",".join(names))
    if args.data_action == "status":
        from clue.data.status import format_status, status

        rows = status(args.data_dir, verify=not args.no_verify, benchmark=bench.name)
        print(format_status(rows, args.data_dir))
        bad = [r for r in rows if not r.build_input and r.role == "test" and r.state != "present"]
        return 1 if args.check and bad else 0
    if args.data_action == "fetch":
        from clue.data.fetch import fetch

        names = names or list(bench.tasks)
        owners = dict.fromkeys(f.task for f in bench.data)
        unknown = [t for t in names if t not in owners]
        if unknown:
            raise ConfigError(f"no download source for task(s) {', '.join(unknown)} ({bench.name})",
                              f"choose from: {', '.join(owners) or 'none'}")
        results = fetch(names, args.data_dir, force=args.force, accept_new=args.accept_new_checksum, benchmark=bench.name)
        got = sum(1 for r in results.values() if r in ("present", "fetched", "recorded"))
        manual = sum(1 for r in results.values() if r == "manual")
        print(f"done: {got} of {len(results) - manual} downloadable file(s) in place"
              + (f"; {manual} to place by hand (listed above)" if manual else ""))
        return 0
    builder = next((b for b in bench.builders if b.name == args.dataset), None)
    if builder is None:
        raise ConfigError(f"the {bench.name} benchmark cannot build {args.dataset}",
                          f"buildable: {', '.join(b.name for b in bench.builders) or 'none'}")
    builder.run(args)
    return 0
