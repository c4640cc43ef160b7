"""`clue slurm submit|status` (and `make reproduce SCHEDULER=slurm`): the reproduce loop as Slurm job arrays.

`submit` writes one sbatch script per GPU count (a job array, one task per roster model still to run;
`--gres=gpu:N` from the roster's shard count, so a 70B model gets 4 GPUs and a 7B one 1), submits them,
then a merge job with `--dependency=afterany:<arrays>` that builds the report, the verification and a
status table (finished / failed / never run, with the log of each failure) from all run directories.
Each array task runs `clue.reproduce` for its one model, exactly as on one machine: server up (docker /
podman via `--docker`, apptainer via `--runtime apptainer`, or an existing endpoint with `--runtime
none`), every task with data, server down. Each model writes its own run directory and its own SQLite
store (`<runs>/<model>/store.sqlite`): no SQLite file is ever written from two hosts. Re-submitting
submits only the models without a finished run (same settings), and refuses while an earlier
submission still has jobs queued. `status` reads `squeue` / `scontrol` (no accounting database).

State lives under `<runs>/.slurm/`: `submissions/NNN/` (submit.json, the sbatch scripts, merge.json),
`tasks/<model>.json` (one record per model: job, host, log, times, exit code) and `logs/`.
Arguments after `--` are `python -m clue.reproduce` options, passed to every task unchanged.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clue import reproduce, serving
from clue.errors import ConfigError, UserError
from clue.files import write_atomic
from clue.roster import RosterModel, load_roster
from clue.scale.slurm_state import latest_submission, load_submission, queued, slurm_cmd, state_dir
from clue.script_values import one_line, sbatch_option

RUNTIMES = ("docker", "apptainer", "none")


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = None  # per array task, e.g. 12:00:00
    mem: str | None = None  # per array task, e.g. 200G
    cpus_per_task: int | None = None
    gres: str = "gpu"  # GRES name; --gres=<name>:<shards>
    no_gpus: bool = False
    max_parallel: int | None = None  # array throttle %N
    extra: tuple[str, ...] = ()  # extra `#SBATCH` lines for the array tasks
    merge_time: str = "01:00:00"
    merge_extra: tuple[str, ...] = ()
    runtime: str = "docker"
    apptainer: str = "apptainer"
    job_name: str = "clue"
    python: str = field(default_factory=lambda: sys.executable)

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ConfigError(f"unknown runtime {self.runtime!r}", f"use one of: {', '.join(RUNTIMES)}")
        for name in ("partition", "account", "qos", "time", "mem", "gres", "merge_time", "apptainer", "job_name", "python"):
            one_line("--" + name.replace("_", "-"), getattr(self, name))  # each goes into a script: one line, no control characters
        for line in (*self.extra, *self.merge_extra):
            one_line("--sbatch-line", line)
            if "\n" in line or not line.strip().startswith("-"):
                raise ConfigError(f"--sbatch-line {line!r} is not one sbatch option", "e.g. --sbatch-line='--constraint=a100'")


def gpus_for(model: RosterModel, opts: serving.ServeOptions) -> int:
    return opts.num_shard or model.num_shard


def requested_gpus(so: SlurmOptions, gpus: int) -> int:
    """GPUs each task asks Slurm for: none with --no-gpus or --runtime none (the servers run elsewhere)."""
    return 0 if so.no_gpus or so.runtime == "none" else gpus


def gpu_text(so: SlurmOptions, gpus: int) -> str:
    n = requested_gpus(so, gpus)
    why = "--no-gpus" if so.no_gpus else "--runtime none"
    return f"{n} GPU(s) each" if n else f"no GPU requested ({why})"


def _directives(so: SlurmOptions, *, time_limit: str | None, extra: tuple[str, ...]) -> list[str]:
    lines = [sbatch_option("partition", so.partition) if so.partition else "", sbatch_option("account", so.account) if so.account else "",
             sbatch_option("qos", so.qos) if so.qos else "", sbatch_option("time", time_limit) if time_limit else ""]
    return [f"#SBATCH {line}" for line in [*lines, *extra] if line]


def array_script(models: list[RosterModel], gpus: int, sub_dir: Path, so: SlurmOptions, workdir: Path) -> str:
    """The sbatch script of one job array: task i runs models[i] through the reproduce loop."""
    logs = sub_dir.parent.parent / "logs"
    head = [sbatch_option("job-name", f"{so.job_name}-g{gpus}"),
            f"--array=0-{len(models) - 1}" + (f"%{so.max_parallel}" if so.max_parallel else ""),
            sbatch_option("output", f"{logs}/{so.job_name}-%A_%a.out"), sbatch_option("chdir", workdir), "--ntasks=1", "--export=ALL"]
    if requested_gpus(so, gpus):
        head.append(sbatch_option("gres", f"{so.gres}:{gpus}"))
    if so.cpus_per_task:
        head.append(f"--cpus-per-task={so.cpus_per_task}")
    if so.mem:
        head.append(sbatch_option("mem", so.mem))
    directives = [f"#SBATCH {h}" for h in head] + _directives(so, time_limit=so.time, extra=so.extra)
    names = " ".join(shlex.quote(m.name) for m in models)
    return "\n".join([
        "#!/bin/bash", *directives,
        f"# written by `clue slurm submit` (submission {sub_dir.name}): one task per model, {gpu_text(so, gpus)};",
        "# each task = the single-machine loop for its model (server up, every task with data, server down), resumable.",
        "# Secrets (HF_TOKEN) come from the submitting environment (sbatch --export=ALL), never from this file.",
        f"MODELS=({names})",
        f'exec {shlex.quote(so.python)} -m clue.scale.slurm_jobs task {shlex.quote(str(sub_dir))} "${{MODELS[$SLURM_ARRAY_TASK_ID]}}"',
        ""])


def merge_script(sub_dir: Path, so: SlurmOptions, workdir: Path) -> str:
    logs = sub_dir.parent.parent / "logs"
    head = [sbatch_option("job-name", f"{so.job_name}-merge"), sbatch_option("output", f"{logs}/{so.job_name}-merge-%j.out"),
            sbatch_option("chdir", workdir), "--ntasks=1", "--export=ALL"]
    directives = [f"#SBATCH {h}" for h in head] + _directives(so, time_limit=so.merge_time, extra=so.merge_extra)
    return "\n".join([
        "#!/bin/bash", *directives,
        "# written by `clue slurm submit`: runs after every array task ended (afterany), whatever their exit codes;",
        "# report + verification over all run directories, and a status table of finished / failed / never-run models.",
        f"exec {shlex.quote(so.python)} -m clue.scale.slurm_jobs merge {shlex.quote(str(sub_dir))}", ""])


# --- Slurm commands -------------------------------------------------------------------------------

NOT_A_CLUSTER = ("could not establish a configuration source", "unable to contact slurm controller", "s_p_parse_file",
                 "slurm.conf", "fetch_config", "zero bytes were transmitted or received")
SBATCH_OPTIONS = ("partition", "account", "qos", "time", "mem", "gres", "constraint", "cpus-per-task", "job-name")


def sbatch_failure(script: Path, output: str) -> UserError:
    """One line for a failed sbatch: not on a cluster (no configuration, no controller), an option sbatch names, or
    what sbatch said."""
    lines = output.strip().splitlines()
    last = lines[-1] if lines else "no output"
    low = output.lower()
    if any(sign in low for sign in NOT_A_CLUSTER):
        return UserError(f"sbatch {script.name} failed: this machine is not on a Slurm cluster, or its controller is down ({last})",
                         "run `clue slurm submit` on the cluster's login node (`scontrol ping` answers there), "
                         f"or pass --write-only to only write the scripts (the script is {script})")
    named = [o for o in SBATCH_OPTIONS if re.search(rf"\b{re.escape(o)}\b", last.lower())]
    if named:
        return UserError(f"sbatch {script.name} failed: {last}", f"fix --{named[0]} (the script is {script})")
    return UserError(f"sbatch {script.name} failed: {last}", f"fix what sbatch reports, then submit again (the script is {script})")


def sbatch(script: Path, *options: str) -> str:
    proc = slurm_cmd("sbatch", "--parsable", *options, str(script))
    if proc.returncode != 0:
        raise sbatch_failure(script, proc.stderr or proc.stdout)
    return proc.stdout.strip().split(";")[0]


# --- submissions ----------------------------------------------------------------------------------

def _job_ids(sub: dict[str, Any]) -> list[str]:
    return [a["job_id"] for a in sub.get("arrays", [])] + ([sub["merge"]["job_id"]] if sub.get("merge") else [])


def submit(reproduce_argv: list[str], so: SlurmOptions, *, write_only: bool = False) -> Path | None:
    """Write and submit the arrays + merge job for the models without a finished run; returns the submission folder."""
    args = reproduce.parse_args(reproduce_argv)
    one_line("--runs", str(Path(args.runs).resolve()))  # both end up in every script (--output, --chdir)
    one_line("the working directory", str(Path.cwd()))
    opts = serving.options_from(args)
    roster = load_roster(args.roster)
    models = reproduce.select_models(args, roster)
    for m in models:
        m.require_hf_id()
    if args.endpoints and so.runtime != "none":
        raise ConfigError(f"--endpoints names servers already up, but --runtime {so.runtime} starts one per model",
                          "pass --runtime none (or drop --endpoints)")
    if so.runtime == "none":  # the tasks add --no-serve; each model's server must be known now, not after queueing
        reproduce.check_endpoints(argparse.Namespace(**{**vars(args), "no_serve": True}), models, roster)
    previous = latest_submission(args.runs)
    if previous is not None and not write_only:
        active = queued(_job_ids(load_submission(previous)))
        if active:
            raise UserError(f"submission {previous.name} still has {len(active)} job(s) queued or running "
                            f"({', '.join(sorted(active)[:4])})", "wait for them (clue slurm status) or scancel them, then submit again")
    pending = [m for m in models if args.force or not reproduce.is_finished(m, args, opts)]
    if not pending:
        print(f"clue: all {len(models)} model(s) have finished runs under {args.runs}; nothing to submit "
              "(make report / make verify, or --force to re-run)", file=sys.stderr)
        return None
    root = state_dir(args.runs)
    number = int(previous.name) + 1 if previous is not None else 1
    sub_dir = root / "submissions" / f"{number:03d}"
    for d in (sub_dir, root / "logs", root / "tasks"):
        d.mkdir(parents=True, exist_ok=True)
    workdir = Path.cwd()
    groups: dict[int, list[RosterModel]] = {}
    for m in pending:
        groups.setdefault(gpus_for(m, opts), []).append(m)
    sub: dict[str, Any] = {"submission": sub_dir.name, "submitted": time.time(), "workdir": str(workdir), "runs": str(Path(args.runs).resolve()),
                           "reproduce_args": reproduce_argv, "job_name": so.job_name, "runtime": so.runtime, "apptainer": so.apptainer,
                           "models": [m.name for m in models], "pending": [m.name for m in pending], "arrays": [], "merge": None}
    scripts = []
    for gpus, group in sorted(groups.items()):
        path = sub_dir / f"array-g{gpus}.sbatch"
        path.write_text(array_script(group, gpus, sub_dir, so, workdir), encoding="utf-8")
        scripts.append((path, gpus, group))
    merge_path = sub_dir / "merge.sbatch"
    merge_path.write_text(merge_script(sub_dir, so, workdir), encoding="utf-8")
    _save(sub_dir, sub)
    if write_only:
        print(f"clue: scripts written to {sub_dir} (not submitted)", file=sys.stderr)
        return sub_dir
    for path, gpus, group in scripts:
        job = sbatch(path)
        sub["arrays"].append({"job_id": job, "gpus": gpus, "models": [m.name for m in group], "script": str(path)})
        _save(sub_dir, sub)
        print(f"clue: submitted array {job} ({len(group)} model(s), {gpu_text(so, gpus)}): {', '.join(m.name for m in group)}")
    deps = ":".join(a["job_id"] for a in sub["arrays"])
    merge_job = sbatch(merge_path, f"--dependency=afterany:{deps}")
    sub["merge"] = {"job_id": merge_job, "script": str(merge_path)}
    _save(sub_dir, sub)
    print(f"clue: submitted merge job {merge_job} (after all arrays end): report → {args.report}, status → {args.report}/status.txt")
    print(f"clue: follow with `clue slurm status --runs {args.runs}`")
    return sub_dir


def _save(sub_dir: Path, sub: dict[str, Any]) -> None:
    write_atomic(sub_dir / "submit.json", json.dumps(sub, indent=2) + "\n", private=False)


# --- command line ---------------------------------------------------------------------------------

def add_parser(sub: Any) -> None:
    p = sub.add_parser("slurm", help="run the reproduce loop as Slurm job arrays (submit, status)",
                       description="clue slurm submit [options] -- [python -m clue.reproduce options]")
    actions = p.add_subparsers(dest="slurm_action", required=True)
    s = actions.add_parser("submit", help="write and submit one job array per GPU count + a merge job")
    s.add_argument("--partition"), s.add_argument("--account"), s.add_argument("--qos")
    s.add_argument("--time", help="time limit per model task, e.g. 12:00:00 (default: the partition's)")
    s.add_argument("--mem", help="memory per model task, e.g. 200G")
    s.add_argument("--cpus-per-task", type=int, default=None)
    s.add_argument("--gres", default="gpu", help="GRES name for --gres=<name>:<shards> (default gpu)")
    s.add_argument("--no-gpus", action="store_true", help="request no GRES (CPU-only trials, existing endpoints)")
    s.add_argument("--max-parallel", type=int, default=None, help="array throttle: at most N models at once")
    s.add_argument("--sbatch-line", action="append", default=[], help="extra #SBATCH option for the model tasks (repeatable)")
    s.add_argument("--merge-sbatch-line", action="append", default=[], help="extra #SBATCH option for the merge job")
    s.add_argument("--merge-time", default="01:00:00", help="merge job time limit (default 01:00:00)")
    s.add_argument("--runtime", choices=RUNTIMES, default="docker",
                   help="docker (or podman via --docker podman after --), apptainer, or none (servers already up: at --port on "
                        "each node, or per model with --endpoints FILE after --)")
    s.add_argument("--apptainer", default="apptainer", help="apptainer command (default apptainer)")
    s.add_argument("--job-name", default="clue", help="job name prefix (default clue)")
    s.add_argument("--write-only", action="store_true", help="write the scripts, submit nothing")
    s.add_argument("reproduce_args", nargs="*", help="after --: python -m clue.reproduce options (--models, --tasks, --runs, …)")
    st = actions.add_parser("status", help="per-model state of the latest submission (squeue / scontrol + task records)")
    st.add_argument("--runs", default="runs", help="runs folder given to submit (default runs)")


def cmd_slurm(args: argparse.Namespace) -> int:
    if args.slurm_action == "status":
        from clue.scale.slurm_jobs import status_table

        text, code = status_table(args.runs)
        print(text)
        return code
    so = SlurmOptions(partition=args.partition, account=args.account, qos=args.qos, time=args.time, mem=args.mem,
                      cpus_per_task=args.cpus_per_task, gres=args.gres, no_gpus=args.no_gpus, max_parallel=args.max_parallel,
                      extra=tuple(args.sbatch_line), merge_time=args.merge_time, merge_extra=tuple(args.merge_sbatch_line),
                      runtime=args.runtime, apptainer=args.apptainer, job_name=args.job_name)
    submit(list(args.reproduce_args), so, write_only=args.write_only)
    return 0
