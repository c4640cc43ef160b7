"""The loop behind `make reproduce`: for each roster model, serve up → `clue run` all tasks → serve down;
then `clue report` and `clue verify` over the finished runs.

One container at a time, always removed (errors, Ctrl-C, SIGTERM included). Resumable: a model
whose run finished with the same settings (its `reproduce.json` fingerprint) is skipped without
starting a container; an interrupted or partly failed run is re-run and, thanks to the response
store, sends only the requests that have no stored answer. A failing model does not stop the
loop; the report and the verification still run over what finished, and the exit status is
non-zero when any model failed. Verdicts that deviate from the published numbers are printed but
do not fail the loop (`make verify` is the gate for that).

Servers already up (`--no-serve`): every model is evaluated against `--port` on this host, or, with
`--endpoints FILE` (a YAML/JSON map of roster name or HF id → that model's server URL), against its own server.

Usage: `python -m clue.reproduce [--models "a b"] [options]` (see `make help` and `--help`).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from clue import serving
from clue.errors import UserError
from clue.files import write_atomic
from clue.roster import RosterModel, load_roster
from clue.secrets import redact

MARKER = "reproduce.json"


def _clue(*args: str) -> list[str]:
    return [sys.executable, "-m", "clue", *args]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m clue.reproduce", description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default="", help='roster names, space- or comma-separated (default: every model with an hf_id)')
    p.add_argument("--tasks", default="all", help="comma-separated tasks, or all (default; per model: its roster tasks)")
    p.add_argument("--benchmark", default=None, help="benchmark (default: the one owning --tasks, else the installed one)")
    p.add_argument("--protocol", default=None, help="protocol profile (default: the benchmark's for the engine, e.g. CLUE's per era)")
    p.add_argument("--data-dir", default="data", help="task data (default data/); tasks without data are skipped and named")
    p.add_argument("--synthetic", action="store_true", help="use the bundled synthetic samples (tests, demos)")
    p.add_argument("--runs", default="runs", help="one run directory per model below this (default runs/)")
    p.add_argument("--report", default="reports/reproduce", help="report output directory (default reports/reproduce)")
    p.add_argument("--store", default=None, help="response store (default: clue run's default)")
    p.add_argument("--chat-templates", default=None,
                   help="folder of <org>--<name>.json chat-template files (e.g. shared/data/chat-templates) used when present")
    p.add_argument("--run-args", default="", help="extra `clue run` options, appended last (e.g. '--limit 5')")
    p.add_argument("--no-serve", action="store_true", help="do not manage containers: the server is already up at --port")
    p.add_argument("--endpoints", default=None, metavar="FILE",
                   help="with --no-serve: YAML/JSON map of roster name (or HF id) → that model's server URL (the server's "
                        "root URL for tgi, …/v1 for vllm and llamacpp), instead of --port")
    p.add_argument("--no-report", action="store_true", help="skip report and verification")
    p.add_argument("--force", action="store_true", help="re-run finished models too (the store still avoids re-sending)")
    serving.add_options(p)
    return p.parse_args(argv)


def _tasks_for(model: RosterModel, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """(tasks to run, {skipped task: why})."""
    from clue.benchmark import resolve
    from clue.data.status import missing_tasks

    bench = resolve(getattr(args, "benchmark", None), args.tasks)
    if args.tasks.strip() != "all":
        names = [t.name for t in bench.get_tasks(args.tasks)]
    else:
        names = [t.name for t in bench.get_tasks(",".join(model.tasks) if model.tasks else "all")]
    skipped = {} if args.synthetic else missing_tasks(names, Path(args.data_dir), bench.name)
    return [n for n in names if n not in skipped], skipped


def _chat_template(model: RosterModel, folder: str | None) -> list[str]:
    if not folder or not model.instruct or not model.hf_id:
        return []
    path = Path(folder) / (model.hf_id.replace("/", "--") + ".json")
    return ["--chat-template", str(path)] if path.is_file() else []


def load_endpoints(path: str | None, roster: Any) -> dict[str, str]:
    """`--endpoints FILE`: {roster model name: server URL}; one line for an unreadable file, an unknown model or a bad URL."""
    if not path:
        return {}
    import yaml

    from clue.errors import ConfigError
    from clue.script_values import one_line

    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"--endpoints {path}: cannot read it ({exc.strerror})", "pass the path of a YAML/JSON map: model → URL") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--endpoints {path} is not YAML/JSON ({str(exc).splitlines()[0]})",
                          "write one `model name: http://host:port` per line") from None
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"--endpoints {path} is not a map of model → URL", "write one `model name: http://host:port` per line")
    out: dict[str, str] = {}
    for key, url in raw.items():
        model = roster.get(str(key))
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1].strip("/")) == 0:
            raise ConfigError(f"--endpoints {path}: {key}'s URL {url!r} is not an http(s) URL", "e.g. http://gpu-node-3:8080")
        one_line(f"--endpoints {path}: {key}'s URL", url)
        if model.name in out:
            raise ConfigError(f"--endpoints {path} names {model.name} twice", "keep one URL per model")
        out[model.name] = url.rstrip("/")
    return out


def check_endpoints(args: argparse.Namespace, models: list[RosterModel], roster: Any) -> dict[str, str]:
    """The endpoint map of `--endpoints`, checked against the models to run (each needs one; servers are not started)."""
    from clue.errors import ConfigError

    endpoints = load_endpoints(getattr(args, "endpoints", None), roster)
    if not endpoints:
        return {}
    if not args.no_serve:
        raise ConfigError("--endpoints names servers that are already up", "add --no-serve (or drop --endpoints to start each server)")
    missing = [m.name for m in models if m.name not in endpoints]
    if missing:
        raise ConfigError(f"--endpoints {args.endpoints} has no URL for {', '.join(missing)}",
                          "add one per model, or leave those models out of --models")
    return endpoints


def select_models(args: argparse.Namespace, roster: Any) -> list[RosterModel]:
    """--models; without it, the models `--endpoints` names (else every roster model with an hf_id)."""
    if not args.models.strip() and getattr(args, "endpoints", None):
        return [roster.get(name) for name in load_endpoints(args.endpoints, roster)]
    return roster.select(args.models)


def endpoint_for(model: RosterModel, args: argparse.Namespace, opts: serving.ServeOptions) -> str:
    """The URL `clue run` is pointed at for `model`: its --endpoints entry, else the server at --port on this host."""
    return (getattr(args, "endpoint_map", None) or {}).get(model.name) or opts.endpoint


def protocol_for(bench: Any, engine: str) -> str:
    """The benchmark's protocol for a server kind; one it does not name (llamacpp) takes that of a kind on the same
    client route (vllm's: both are OpenAI-compatible), else the benchmark's default."""
    if engine in bench.engine_protocols:
        return str(bench.engine_protocols[engine])
    peers = [p for kind, p in bench.engine_protocols.items() if serving.ENGINE_OF.get(kind) == serving.ENGINE_OF[engine]]
    return str(peers[0]) if peers else str(bench.default_protocol)


def run_command(model: RosterModel, tasks: list[str], args: argparse.Namespace, opts: serving.ServeOptions,
                revision: str | None, out: Path, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
    """The `clue run` command for one model (the same one `make eval` uses)."""
    from clue.benchmark import resolve

    bench = resolve(getattr(args, "benchmark", None), args.tasks)
    protocol = args.protocol or protocol_for(bench, opts.engine)
    cmd = _clue("run", "--engine", serving.ENGINE_OF[opts.engine], "--endpoint", endpoint_for(model, args, opts),
                "--model", model.require_hf_id(),
                "--tasks", ",".join(tasks), "--protocol", protocol, "--mode", model.mode,
                "--max-position-embeddings", str(model.context_length), "--out", str(out))
    if revision:
        cmd += ["--revision", revision]
    if getattr(args, "benchmark", None):
        cmd += ["--benchmark", args.benchmark]
    cmd += ["--synthetic"] if args.synthetic else ["--data-dir", str(args.data_dir)]
    if args.store:
        cmd += ["--store", str(args.store)]
    cmd += _chat_template(model, args.chat_templates)
    return cmd + list(extra) + shlex.split(args.run_args)


def fingerprint(model: RosterModel, tasks: list[str], args: argparse.Namespace, opts: serving.ServeOptions) -> dict[str, Any]:
    """Everything that changes what a finished run would contain."""
    return {"hf_id": model.hf_id, "revision": model.revision, "mode": model.mode, "context_length": model.context_length,
            "engine": opts.engine, "protocol": args.protocol, "tasks": sorted(tasks),
            "data": "synthetic" if args.synthetic else str(Path(args.data_dir).resolve()), "run_args": args.run_args,
            **({"gguf": model.gguf and [model.gguf.repo, model.gguf.file, model.gguf.revision]} if opts.engine == "llamacpp" else {})}


def _marker(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MARKER).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _finished(out: Path, fp: dict[str, Any]) -> bool:
    marker = _marker(out)
    return marker.get("status") == "done" and marker.get("fingerprint") == fp and (out / "scores.json").is_file()


def is_finished(model: RosterModel, args: argparse.Namespace, opts: serving.ServeOptions) -> bool:
    """True when `model` has a finished run under `args.runs` with these settings (the loop would skip it)."""
    if not model.hf_id:
        return False
    tasks, _ = _tasks_for(model, args)
    return bool(tasks) and _finished(Path(args.runs) / model.slug, fingerprint(model, tasks, args, opts))


def _write_marker(out: Path, data: dict[str, Any]) -> None:
    write_atomic(out / MARKER, json.dumps(redact(data), indent=2, default=str) + "\n", private=False)


def _run(cmd: list[str]) -> int:
    print(f"clue: $ {redact(shlex.join(cmd))}", file=sys.stderr, flush=True)
    return subprocess.call(cmd)


def evaluate_model(model: RosterModel, args: argparse.Namespace, opts: serving.ServeOptions) -> tuple[str, str]:
    """Run one model; returns (status, detail) with status done | skipped | failed."""
    out = Path(args.runs) / model.slug
    if not model.hf_id:
        return "skipped", "no hf_id in the roster (ambiguous published name)"
    if serving.ENGINE_OF[opts.engine] == "openai" and model.mode == "base":
        return "skipped", f"base model: the OpenAI route ({opts.engine}) has no base-model layout (spec §2.3); use ENGINE=tgi"
    tasks, missing = _tasks_for(model, args)
    for task, why in missing.items():
        print(f"clue: {model.name}: skipping {task}: {why}", file=sys.stderr)
    if not tasks:
        return "skipped", "no task has its data (see `clue data status`)"
    fp = fingerprint(model, tasks, args, opts)
    if not args.force and _finished(out, fp):
        return "skipped", f"finished earlier ({out})"
    print(f"\n=== {model.name}: {', '.join(tasks)} → {out}", file=sys.stderr, flush=True)
    started = time.time()
    # LongHealth's v3 code was unseeded: draw one seed per model, record it first and reuse it, so a
    # resumed run rebuilds the same prompts and finds their stored answers (RUN_ARGS="--seed N" overrides).
    seed = _marker(out).get("seed") or int.from_bytes(os.urandom(4), "big") >> 1
    marker = {"model": model.name, "hf_id": model.hf_id, "fingerprint": fp, "seed": seed, "status": "running", "started": started}
    _write_marker(out, marker)
    seed_args = ["--seed", str(seed)]
    if args.no_serve:
        info: dict[str, Any] = {}
        code = _run(run_command(model, tasks, args, opts, model.revision, out, seed_args))
    else:
        with serving.serving(model, opts) as info:
            code = _run(run_command(model, tasks, args, opts, info.get("model_sha") or model.revision, out, seed_args))
    marker.update(served=info, docker_run=None if args.no_serve else serving.run_argv(model, opts),
                  exit_code=code, finished=time.time(), status="done" if code == 0 else "failed")
    _write_marker(out, marker)
    if code != 0:
        return "failed", f"`clue run` exited with {code} (re-run to resume: stored answers are not sent again)"
    return "done", str(out)


def report_and_verify(run_dirs: list[Path], args: argparse.Namespace) -> int:
    """`clue report` then `clue verify`; the verdicts go to <report>/verify.txt too. Returns report's exit code."""
    report = Path(args.report)
    code = subprocess.call(_clue("report", *map(str, run_dirs), "--out", str(report)))
    proc = subprocess.run(_clue("verify", *map(str, run_dirs)), capture_output=True, text=True)
    text = proc.stdout + (proc.stderr if proc.returncode not in (0, 1) or not proc.stdout else "")
    report.mkdir(parents=True, exist_ok=True)
    (report / "verify.txt").write_text(text, encoding="utf-8")
    print(text, end="" if text.endswith("\n") else "\n")
    verdict = "all reproduced" if proc.returncode == 0 else f"some numbers deviate or are missing (exit {proc.returncode})"
    print(f"clue: verification: {verdict}; written to {report / 'verify.txt'}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        opts = serving.options_from(args)
        roster = load_roster(args.roster)
        models = select_models(args, roster)
        if args.models.strip():
            for m in models:
                m.require_hf_id()  # named explicitly: an ambiguous id is an error, before any container starts
        args.endpoint_map = check_endpoints(args, models, roster)
        results: list[tuple[RosterModel, str, str]] = []
        with serving.sigterm_as_interrupt():
            for model in models:
                try:
                    status, detail = evaluate_model(model, args, opts)
                except UserError as exc:
                    status, detail = "failed", redact(exc.line())
                    print(f"clue: error: {model.name}: {detail}", file=sys.stderr)
                results.append((model, status, detail))
    except UserError as exc:
        print(f"clue: error: {redact(exc.line())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clue: interrupted — containers removed; run the same command again to resume", file=sys.stderr)
        return 130
    print("\nreproduce summary:")
    for model, status, detail in results:
        print(f"  {model.name:<30} {status:<8} {detail}")
    run_dirs = [Path(args.runs) / m.slug for m, s, _ in results if (Path(args.runs) / m.slug / "scores.json").is_file()]
    report_code = 0
    if run_dirs and not args.no_report:
        report_code = report_and_verify(run_dirs, args)
    failed = [m.name for m, s, _ in results if s == "failed"]
    if failed:
        print(f"clue: {len(failed)} model(s) failed: {', '.join(failed)} — run the same command again to resume", file=sys.stderr)
    return 1 if failed or report_code else 0


if __name__ == "__main__":
    raise SystemExit(main())
