"""What the generated Slurm scripts run, and `clue slurm status`.

    python -m clue.scale.slurm_jobs task SUBMISSION_DIR MODEL   # one array task: the reproduce loop for MODEL
    python -m clue.scale.slurm_jobs merge SUBMISSION_DIR        # after all tasks: report, verification, status table

A task picks a free port on its node for the server it starts (with `--runtime none` it uses the servers the
user named: `--port`, or the model's `--endpoints` entry), runs `clue.reproduce` for its model with that model's own store
(`<runs>/<model>/store.sqlite`) and no report, and records job id, host, log path, times and exit code in
`<runs>/.slurm/tasks/<model>.json`. The merge decides each model's state from the run directories
themselves (a finished run with the submitted settings, as the loop's resume check does) and the task
records: finished, failed (exit code + log), skipped (nothing to run, see log) or never run (no task
record from this submission: cancelled, or the array never started it).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

from clue import reproduce, serving
from clue.errors import UserError
from clue.files import write_atomic
from clue.roster import load_roster
from clue.scale.slurm_state import job_state, latest_submission, load_submission, queued, state_dir
from clue.secrets import redact


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(data, indent=2) + "\n", private=False)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def record_path(sub: dict[str, Any], model_slug: str) -> Path:
    return state_dir(sub["runs"]) / "tasks" / f"{model_slug}.json"


def run_task(sub_dir: Path, model_name: str) -> int:
    sub = load_submission(sub_dir)
    model = load_roster(reproduce.parse_args(sub["reproduce_args"]).roster).get(model_name)
    job, index = os.environ.get("SLURM_ARRAY_JOB_ID", "?"), os.environ.get("SLURM_ARRAY_TASK_ID", "?")
    runs = Path(sub["runs"])
    argv = [*sub["reproduce_args"], "--models", model.name, "--no-report", "--store", str(runs / model.slug / "store.sqlite")]
    # a server this task starts gets a free port of its node; an existing one (--runtime none) is where the user said
    port = None if sub.get("runtime") == "none" else free_port()
    if port is not None:
        argv += ["--port", str(port)]
    record = {"model": model.name, "submission": sub["submission"], "job": f"{job}_{index}", "host": socket.gethostname(),
              "log": str(state_dir(runs) / "logs" / f"{sub.get('job_name', 'clue')}-{job}_{index}.out"),
              "started": time.time(), "status": "running", "port": port}
    path = record_path(sub, model.slug)
    path.parent.mkdir(parents=True, exist_ok=True)
    (runs / model.slug).mkdir(parents=True, exist_ok=True)
    _write_json(path, record)
    print(f"clue: slurm task {record['job']} on {record['host']}: {model.name} "
          f"({f'port {port}' if port is not None else 'its server already up'})", flush=True)
    server = None
    try:
        with serving.sigterm_as_interrupt():  # Slurm's time limit / scancel send SIGTERM first
            if sub.get("runtime") in ("apptainer", "none"):
                argv.append("--no-serve")
            if sub.get("runtime") == "apptainer":
                from clue.scale import apptainer

                args = reproduce.parse_args(argv)
                server = apptainer.start(model, serving.options_from(args), sub.get("apptainer") or "apptainer")
            code = reproduce.main(argv)
    except UserError as exc:
        print(f"clue: error: {model.name}: {redact(exc.line())}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        code = 130
    finally:
        if server is not None:
            from clue.scale import apptainer

            apptainer.stop(server)
    record.update(finished=time.time(), exit_code=code, status="done" if code == 0 else "failed")
    _write_json(path, record)
    return code


def model_states(sub: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per model of the submission: name, state, detail, log."""
    args = reproduce.parse_args(sub["reproduce_args"])
    opts = serving.options_from(args)
    roster = load_roster(args.roster)
    rows = []
    for name in sub["models"]:
        model = roster.get(name)
        rec = _read_json(record_path(sub, model.slug))
        ours = rec if rec is not None and rec.get("submission") == sub["submission"] else None  # this submission's record
        row = {"model": name, "run_dir": str(Path(sub["runs"]) / model.slug), "log": ours.get("log") if ours is not None else None,
               "job": ours.get("job") if ours is not None else None}
        if reproduce.is_finished(model, args, opts):
            row.update(state="finished", detail="this submission" if ours is not None else "finished earlier")
        elif ours is None:
            row.update(state="never run", detail="no task of this submission started it (cancelled or not scheduled)")
        elif ours.get("status") == "running":
            row.update(state="failed", detail="the task ended without recording an exit (killed: time limit, node failure?)")
        elif ours.get("exit_code") == 0:
            row.update(state="skipped", detail="nothing to run (no task data, or not servable) — see the log")
        else:
            marker = _read_json(Path(row["run_dir"]) / reproduce.MARKER) or {}
            why = f"; `clue run` exited with {marker['exit_code']}" if marker.get("status") == "failed" and marker.get("exit_code") else ""
            row.update(state="failed", detail=f"exit code {ours.get('exit_code')}{why}")
        rows.append(row)
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    table = [("model", "state", "job", "detail", "log")]
    table += [(r["model"], r["state"], r.get("job") or "—", r["detail"], r.get("log") or "—") for r in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(4)]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r[:4], widths)) + "  " + str(r[4]) for r in table).rstrip()


def merge(sub_dir: Path) -> int:
    started = time.time()
    sub = load_submission(sub_dir)
    args = reproduce.parse_args(sub["reproduce_args"])
    rows = model_states(sub)
    run_dirs = [Path(r["run_dir"]) for r in rows if (Path(r["run_dir"]) / "scores.json").is_file()]
    report_code = reproduce.report_and_verify(run_dirs, args) if run_dirs else 0
    report = Path(args.report)
    report.mkdir(parents=True, exist_ok=True)
    text = format_rows(rows)
    counts = {s: sum(r["state"] == s for r in rows) for s in ("finished", "failed", "skipped", "never run")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    (report / "status.txt").write_text(f"submission {sub['submission']}: {summary}\n{text}\n", encoding="utf-8")
    _write_json(report / "status.json", {"submission": sub["submission"], "counts": counts, "models": rows})
    print(f"submission {sub['submission']}: {summary}\n{text}")
    _write_json(sub_dir / "merge.json", {"job": os.environ.get("SLURM_JOB_ID"), "started": started, "finished": time.time(),
                                         "run_dirs": [str(d) for d in run_dirs], "counts": counts, "report": str(report.resolve())})
    if not run_dirs:
        print("clue: no model finished: no report written", file=sys.stderr)
    bad = counts["failed"] + counts["never run"]
    if bad:
        print(f"clue: {bad} model(s) not finished — submit again to run only those", file=sys.stderr)
    return report_code  # the merge did its job; which models failed is the status table's to say (clue slurm status exits 1)


def status_table(runs: str) -> tuple[str, int]:
    """`clue slurm status`: the latest submission, live states from squeue, ended ones from the records."""
    sub_dir = latest_submission(runs)
    if sub_dir is None:
        raise UserError(f"no Slurm submission under {runs}/.slurm", "submit first: clue slurm submit -- [reproduce options]")
    sub = load_submission(sub_dir)
    arrays = sub.get("arrays", [])
    live = queued([a["job_id"] for a in arrays] + ([sub["merge"]["job_id"]] if sub.get("merge") else []))
    rows = model_states(sub)
    index = {name: f"{a['job_id']}_{i}" for a in arrays for i, name in enumerate(a["models"])}
    for r in rows:
        task = index.get(r["model"])
        if task and task in live and r["state"] != "finished":
            r.update(state=live[task][0].lower(), detail=live[task][1], job=task)
        elif task is None and r["state"] == "never run":
            r.update(detail="not submitted")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(sub["submitted"]))
    lines = [f"submission {sub['submission']} ({when}), arrays: {', '.join(a['job_id'] for a in arrays) or 'none'}", format_rows(rows)]
    if sub.get("merge"):
        job = sub["merge"]["job_id"]
        state = live[job][0] if job in live else job_state(job)
        done = _read_json(sub_dir / "merge.json")
        lines.append(f"merge job {job}: {state or ('ended' if done else 'unknown (no longer known to Slurm)')}"
                     + (f"; report {done['report']}, status table {done['report']}/status.txt" if done else ""))
    active = any(r["state"] in ("pending", "running") for r in rows)
    return "\n".join(lines), 0 if not active and all(r["state"] == "finished" for r in rows) else 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("task", "merge") or (argv[0] == "task" and len(argv) != 3):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        return run_task(Path(argv[1]), argv[2]) if argv[0] == "task" else merge(Path(argv[1]))
    except UserError as exc:
        print(f"clue: error: {redact(exc.line())}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
