"""Command line: argument parsing only; the work happens in the modules it calls.

Errors a user can cause are printed as one line (what is wrong — how to fix it) with a
non-zero exit and no traceback; `--debug` shows the traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import clue
from clue.errors import UserError
from clue.run_options import add_run_options

EXIT_USER_ERROR = 2
EXIT_FAILURES = 3
EXIT_BATCH_PENDING = 75  # EX_TEMPFAIL: a batch is running; re-run the same command later
class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (what is wrong — where to look), not a usage dump; subcommands inherit it."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USER_ERROR, f"clue: error: {message} — see `{self.prog} --help`\n")


def _default_run_name(args: argparse.Namespace) -> str:
    model = re.sub(r"[^A-Za-z0-9._-]+", "_", args.model.split("/")[-1])
    return f"{model}__{args.protocol}"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI; `only="run"` builds just `clue run`'s parser — the other commands' modules (serve and its
    roster YAML, report, data, ratings, scale: ~50 ms) stay unimported on the path to the first request."""
    parser = OneLineParser(prog="clue", description="Reproducibility kit for clinical LLM benchmarks: run a model on a "
                                                        "benchmark's tasks under its protocol, report, verify against its published numbers.")
    parser.add_argument("--version", action="version", version=f"clue-kit {clue.__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="evaluate a model on tasks")
    add_run_options(run)
    if only == "run":
        return parser
    sub.add_parser("tasks", help="list the tasks").add_argument("--benchmark", default=None, help="benchmark (default: the installed one)")
    protocols = sub.add_parser("protocols", help="list protocol profiles")
    protocols.add_argument("--show", metavar="NAME", help="print one profile with every switch")
    protocols.add_argument("--benchmark", default=None, help="benchmark (default: the installed one)")
    from clue.report.commands import add_report_arguments, add_verify_arguments

    add_report_arguments(sub.add_parser("report", help="build a self-contained HTML report (+ results.csv) from run directories"))
    add_verify_arguments(sub.add_parser("verify", help="compare runs with their benchmark's published numbers (exit 0 all reproduced, "
                                                       "1 something deviates, 4 inconclusive)"))
    demo = sub.add_parser("demo", help="offline demo: the baseline engine on each benchmark's bundled data (invented items, and "
                                        "real public samples where their licence allows), then one report per benchmark")
    demo.add_argument("--out", type=Path, default=Path("runs/demo"),
                      help="run directory of the default benchmark; the others beside it as <out>-<benchmark> (default runs/demo)")
    demo.add_argument("--report", type=Path, default=Path("reports/demo"),
                      help="report folder of the default benchmark; the others in <report>/<benchmark>/ (default reports/demo)")
    from clue.compare_command import add_parser as add_compare_parser

    add_compare_parser(sub)
    from clue.watch import add_parser as add_watch_parser

    add_watch_parser(sub)
    from clue.data.cli import add_parser as add_data_parser
    from clue.serving import add_parser as add_serve_parser

    models = sub.add_parser("models", help="list the model roster")
    models.add_argument("--roster", default=None, help="roster YAML file")
    models.add_argument("--benchmark", default=None, help="benchmark whose roster is listed (default: the installed one)")
    add_serve_parser(sub)
    add_data_parser(sub)
    from clue.ratings_commands import add_parser as add_ratings_parser

    add_ratings_parser(sub)
    from clue.scale.cli import add_parsers as add_scale_parsers

    add_scale_parsers(sub)
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve
    from clue.engines import resolve_engine
    from clue.errors import ConfigError
    from clue.evaluate import evaluate
    from clue.run_config import RunConfig
    from clue.runner import RetryPolicy

    args.engine = resolve_engine(args.engine, args.endpoint)
    if args.engine == "baseline":
        args.model = args.model or "parameterless-baseline"
    if not args.model:
        raise ConfigError(f"the {args.engine} engine needs --model", "e.g. --model meta-llama/Meta-Llama-3-8B-Instruct")
    bench = resolve(args.benchmark, args.tasks)
    profile = bench.get_protocol(args.protocol)
    args.protocol = profile.name
    tasks = bench.get_tasks(args.tasks)
    out = args.out or Path("runs") / _default_run_name(args)
    if args.synthetic and bench.synthetic is None:
        raise ConfigError(f"the {bench.name} benchmark bundles no synthetic samples", "pass --data-dir instead of --synthetic")
    if args.synthetic:  # the synthetic items are written into the run directory first: it must be writable
        from clue.files import ensure_dir

        ensure_dir(out, "--out")
    data_dir = bench.synthetic(out / "synthetic-data") if args.synthetic and bench.synthetic else args.data_dir
    store = args.store or Path(os.environ.get("CLUE_STORE", ".clue/store.sqlite"))
    cfg = RunConfig(
        engine=args.engine, model=args.model, tasks=tasks, profile=profile, data_dir=data_dir, out=out, store_path=store,
        endpoint=args.endpoint, revision=args.revision, mode=args.mode, chat_template=args.chat_template, tokenizer=args.tokenizer,
        max_position_embeddings=args.max_position_embeddings, temperature=args.temperature, seed=args.seed,
        limit=args.limit, concurrency=args.concurrency, max_failures=args.max_failures, api_key_env=args.api_key_env,
        policy=RetryPolicy(max_attempts=args.max_attempts, attempt_timeout_s=args.timeout, backoff_base_s=args.retry_base,
                           outage_budget_s=args.retry_budget),
        progress=not args.no_progress and sys.stderr.isatty() or os.environ.get("CLUE_PROGRESS") == "1",
        argv=["clue", *sys.argv[1:]], allow_remote_phi=args.allow_remote_phi, dry_run=getattr(args, "dry_run", False),
        allow_data_mismatch=args.allow_data_mismatch,
        benchmark=bench.name, shots=args.shots, fewshot_seeds=args.fewshot_seed, synthetic=args.synthetic, refresh=args.refresh,
        route=args.route, prefill=args.prefill, model_family=args.model_family, reasoning_effort=args.reasoning_effort,
        api_version=args.api_version, max_cost=args.max_cost, prices=args.prices, batch=args.batch,
        subset=getattr(args, "subset", None), cap_before_sending=getattr(args, "cap_before_sending", False),  # clue watch
    )
    if args.batch and args.engine not in ("openai", "azure"):
        raise ConfigError("--batch needs the openai or azure engine", "drop --batch or use --engine openai")
    result = evaluate(cfg)
    if result.plan is not None:
        for t in result.plan.values():
            e = t["estimate"]
            usd = f", est. ${e['usd_prompt']:.4f} prompt + up to ${e['usd_max']:.4f} in all" if "usd_max" in e else \
                ", cost unknown (no price for the model: --prices FILE)"
            print(f"{t['title']}: {t['requests']} requests ({t['cached']} cached, {t['to_send']} to send), "
                  f"{t['prompt_chars']:,} prompt characters; to send: ~{e['prompt_tokens']:,} prompt tokens "
                  f"({e['prompt_tokens_counted_by']}), at most {e['completion_tokens_max']:,} completion tokens{usd}")
        print(f"dry run: nothing sent; the exact requests are in {result.out / 'requests.jsonl'}, the counts in {result.out / 'plan.json'}")
        return 0
    for t in result.scores.values():
        shown = ", ".join(f"{m} {v:.2f}" if v is not None else f"{m} —" for m, v in t["metrics"].items())
        flags = "".join(f", {t[k]} {what}" for k, what in (("n_empty", "empty answers"), ("n_length", "cut at the token limit"))
                        if t.get(k))
        unreadable = f", {t['extraction_failures']} answers unreadable" if "extraction_failures" in t else ""
        print(f"{t['title']}: {shown}  ({t['n_scored']} scored, {t['n_failed']} requests failed{unreadable}{flags})")
    s = result.stats
    print(f"requests: {s['requests']} ({s['cached']} cached, {s['sent']} sent, {s['retries']} retries, {s['failed']} failed)")
    print(f"run written to {result.out}")
    if not result.failed_ok:
        causes = ", ".join(f"{k}: {v}" for k, v in sorted((s.get("failure_causes") or {}).items()))
        print(f"clue: error: {s['failed']} request(s) failed ({causes}; each one's message is in samples.jsonl), "
              f"more than --max-failures {args.max_failures} — re-run the same command to retry only those", file=sys.stderr)
        return EXIT_FAILURES
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve

    bench = resolve(args.benchmark)
    if bench.task_table is not None:
        print(bench.task_table())
        return 0
    for t in bench.tasks.values():
        access = "credentialed (PhysioNet)" if t.credentialed else "public"
        print(f"{t.name:<14} {t.title:<16} {access:<26} metrics: {', '.join(t.metrics)}")
    return 0


def cmd_protocols(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve

    bench = resolve(args.benchmark)
    if not args.show:
        for p in bench.protocols.values():
            print(f"{p.name:<11} {p.description}")
        return 0
    profile, docs = bench.get_protocol(args.show), (bench.protocol_docs() if bench.protocol_docs else {})
    for name, value in profile.switches().items():
        print(f"{name} = {value!r}\n    {docs.get(name, '')}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from clue.report.commands import report_command

    return report_command(args)


def cmd_verify(args: argparse.Namespace) -> int:
    from clue.report.commands import verify_command

    return verify_command(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from clue.compare_command import cmd_compare as compare

    return compare(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from clue.watch import watch

    return watch(args, run=cmd_run)


def cmd_demo(args: argparse.Namespace) -> int:
    """The default benchmark's baseline into --out and its report into --report; every other installed benchmark
    that bundles samples into its own run directory beside it (`<out>-<benchmark>`) and its own report
    (`<report>/<benchmark>/`): one report per benchmark, so each is read with its own groups and text."""
    from clue.benchmark import default_benchmark, installed
    from clue.files import ensure_dir

    default = default_benchmark().name
    others = [b.name for b in installed().values() if b.name != default and b.synthetic is not None]
    outs = {default: args.out, **{name: args.out.with_name(f"{args.out.name}-{name}") for name in others}}
    reports = {default: args.report, **{name: args.report / name for name in others}}
    for path, option in [*((o, "--out") for o in outs.values()), *((r, "--report") for r in reports.values())]:
        ensure_dir(path, option)  # all before anything runs: a read-only --report must not surface after the run
    for name, out in outs.items():
        run_args = build_parser().parse_args(["run", "--benchmark", name, "--engine", "baseline", "--synthetic", "--out", str(out),
                                             "--store", str(out / "store.sqlite"), "--no-progress"])
        code = cmd_run(run_args)
        if code != 0:
            return code
    for name, out in outs.items():
        cmd_report(build_parser().parse_args(["report", str(out), "--out", str(reports[name])]))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from clue.benchmark import resolve
    from clue.roster import format_table, load_roster

    print(format_table(load_roster(args.roster or (None if args.benchmark is None else resolve(args.benchmark).roster))))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from clue.serving import cmd_serve as serve

    return serve(args)


def cmd_data(args: argparse.Namespace) -> int:
    from clue.data.cli import cmd_data as data

    return data(args)


def cmd_ratings(args: argparse.Namespace) -> int:
    from clue.ratings_commands import cmd_ratings as ratings

    return ratings(args)


def cmd_scale(args: argparse.Namespace) -> int:
    from clue.scale.cli import run_command

    return run_command(args)


COMMANDS = {"run": cmd_run, "tasks": cmd_tasks, "protocols": cmd_protocols, "report": cmd_report, "verify": cmd_verify, "demo": cmd_demo,
            "compare": cmd_compare, "watch": cmd_watch, "models": cmd_models, "serve": cmd_serve, "data": cmd_data, "ratings": cmd_ratings,
            "slurm": cmd_scale, "k8s": cmd_scale}


def _resume_line(argv: list[str] | None, detail: str = "") -> str:
    import shlex

    from clue.secrets import redact

    command = redact(shlex.join(["clue", *(sys.argv[1:] if argv is None else argv)]))
    return f"clue: interrupted — {detail or 'completed requests are stored'}; resume with the same command: {command}"


def _stdout_gone() -> bool:
    """Standard output is a pipe whose reader has closed it."""
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLERR)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


LEAVE_AT_ONCE = ("run", "report")  # returned: their files written whole and closed (run: its store closed, its worker ended)
_returned: str | None = None  # the command that returned


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        if argv is None and _returned in LEAVE_AT_ONCE:  # the program `clue run`/`report` (not a call from Python): nothing is
            sys.stderr.flush()  # left to clean up, and tearing down a run's objects cost ~0.1 s of a 1,000-item run's wall,
            os._exit(code)  # a grid report's ~0.2 s (`make bench`)
        return code
    except BrokenPipeError:  # `clue … | head`: the reader left; stop quietly, as a SIGPIPE-killed tool would
        if not _stdout_gone():
            raise  # another pipe or socket: not ours to hide
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        return 141
    except KeyboardInterrupt:  # Ctrl-C before a command began (imports, argument parsing): nothing to resume
        if "--debug" in (sys.argv[1:] if argv is None else argv):
            raise
        print("clue: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    from clue.runner import CostCapReached, Interrupted
    from clue.secrets import redact as redact_line
    from clue.terminal import inert

    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if not w.startswith("-")), None)  # the global options (--debug, --version) take no value
    args = build_parser(only="run" if command == "run" else None).parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
        global _returned
        _returned = args.command
        return code
    except UserError as exc:
        from clue.engines.batch import BatchPending  # here, not at start-up: only --batch raises it

        if isinstance(exc, BatchPending):  # submitted / still running: not an error
            print(inert(f"clue: {redact_line(exc.line())}"), file=sys.stderr)
            return EXIT_BATCH_PENDING
        if args.debug:
            raise
        from clue.secrets import redact

        print(f"clue: error: {inert(redact(exc.line()))}", file=sys.stderr)  # server messages may carry escape codes
        return EXIT_USER_ERROR
    except CostCapReached as exc:  # --max-cost: nothing more sent, requests in flight stored
        print(inert(f"clue: stopped: {exc}; the completed requests are stored — raise --max-cost and re-run the same "
                    f"command to continue"), file=sys.stderr)
        return EXIT_FAILURES
    except Interrupted as exc:  # first Ctrl-C: requests in flight finished and stored
        print(inert(_resume_line(argv, f"requests in flight were finished, {exc}")), file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(inert(_resume_line(argv)), file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
