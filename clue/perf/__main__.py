"""`python -m clue.perf [--quick] [--out reports/bench.json]` — the kit's performance figures
(start-up, throughput, client overhead, concurrency against a batching server, cache, report timings, peers).

Each section runs in its own child process (so its peak RSS is its own and no section warms
another's caches) against loopback servers started here; the parent prints one table and writes
the JSON. `--quick` is a tiny configuration that proves the machinery works (figures meaningless).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FULL = {"sat_n": 5000, "concurrency": 64, "latency_s": 0.05, "slow_n": 2000, "slow_latency_s": 0.2, "ttft_s": 0.01, "per_token_s": 0.0004,
        "repeats": 3, "overhead_n": 5000, "seq_n": 500, "resume_n": 10000, "rouge_n": 10000, "icd_n": 10000, "longhealth_n": 2000,
        "vocab": 32000, "report_runs": 26, "report_samples": 500, "proc_n": 1000, "proc_repeats": 5, "startup_repeats": 5,
        "batch_n": 2000, "batch_cap": 64, "batch_step_s": 0.004, "batch_growth": 1 / 32, "batch_tokens": 10, "batch_advertise": 128,
        "batch_fixed": [16, 32, 64, 128], "batch_hidden": 24, "peer_repeats": 2,
        "scale_models": 22, "scale_shots": [0, 3], "scale_size": 1.0,  # ClinicBench-shaped: 22 models × 16 datasets × 2 settings
        "grid_models": 22, "grid_shots": [0, 1, 3, 5], "grid_size": 1.0, "grid_seeds": 3}  # the paper's grid; and with 3 few-shot seeds
QUICK = {"sat_n": 120, "concurrency": 16, "latency_s": 0.01, "slow_n": 40, "slow_latency_s": 0.02, "ttft_s": 0.002, "per_token_s": 0.0001,
         "repeats": 1, "overhead_n": 120, "seq_n": 20, "resume_n": 150, "rouge_n": 300, "icd_n": 300, "longhealth_n": 45,
         "vocab": 1500, "report_runs": 2, "report_samples": 20, "proc_n": 40, "proc_repeats": 1, "startup_repeats": 1,
         "batch_n": 150, "batch_cap": 8, "batch_step_s": 0.002, "batch_growth": 1 / 32, "batch_tokens": 3, "batch_advertise": 16,
         "batch_fixed": [4, 16], "batch_hidden": 6, "peer_repeats": 1,
         "scale_models": 2, "scale_shots": [0, 3], "scale_size": 0.0, "grid_models": 2, "grid_shots": [0, 3], "grid_size": 0.0, "grid_seeds": 2}
SECTIONS = ("startup", "process", "saturation", "saturation_per_token", "saturation_slow", "overhead", "batching", "sequential", "resume",
            "rouge", "icd", "longhealth", "report", "report_scale", "report_grid", "report_grid_seeds", "peers")


def run_section(name: str, c: dict[str, Any]) -> dict[str, Any]:
    from clue.perf import process, reporting, scorer_speed, serving

    if name == "startup":
        return process.startup(c["startup_repeats"])
    if name == "process":
        return process.saturation(c["proc_n"], c["concurrency"], c["latency_s"], c["proc_repeats"])
    if name == "batching":
        return serving.batching(c["batch_n"], c["batch_cap"], c["batch_step_s"], c["batch_growth"], c["batch_tokens"],
                                c["batch_advertise"], tuple(c["batch_fixed"]), hidden_limit=c["batch_hidden"])
    if name == "peers":
        from clue.perf import peers

        return peers.compare(c["proc_n"], c["concurrency"], c["latency_s"], c["peer_repeats"], quick=c is QUICK)
    if name == "saturation":
        return serving.saturation(c["sat_n"], c["concurrency"], c["latency_s"], repeats=c["repeats"])
    if name == "saturation_per_token":
        return serving.saturation(c["sat_n"], c["concurrency"], c["ttft_s"], c["per_token_s"], repeats=c["repeats"])
    if name == "saturation_slow":  # a latency nearer a real LLM's: where the client's share shrinks
        return serving.saturation(c["slow_n"], c["concurrency"], c["slow_latency_s"], repeats=1)
    if name == "overhead":
        return serving.overhead(c["overhead_n"], c["concurrency"], repeats=c["repeats"])
    if name == "sequential":
        return serving.sequential(c["seq_n"], c["concurrency"], c["latency_s"])
    if name == "resume":
        return serving.resume(c["resume_n"], c["concurrency"])
    if name == "rouge":
        return scorer_speed.rouge(c["rouge_n"], repeats=c["repeats"])
    if name == "icd":
        return scorer_speed.icd(c["icd_n"])
    if name == "longhealth":
        return scorer_speed.longhealth(c["longhealth_n"], c["vocab"])
    if name == "report":
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            dirs = reporting.write_runs(Path(tmp) / "runs", c["report_runs"], c["report_samples"])
            made = time.perf_counter() - t0
            rss_before = _peak_rss_mb()
            out = reporting.build(dirs, Path(tmp) / "report")
            out.update(runs=len(dirs), samples=c["report_samples"] * 6 * len(dirs), fixtures_s=made, rss_before_build_mb=rss_before)
            out["peak_rss_mb"] = _peak_rss_mb()  # the build's peak (fixtures are smaller); chromium is its own process
            out.update(reporting.first_paint(Path(out.pop("html")), Path(tmp)))
            return out
    if name == "report_scale":
        from clue.perf import report_scale

        with tempfile.TemporaryDirectory() as tmp:
            return report_scale.measure(Path(tmp), c["scale_models"], c["scale_shots"], c["scale_size"])
    if name in ("report_grid", "report_grid_seeds"):
        from clue.perf import grid

        with tempfile.TemporaryDirectory() as tmp:
            return grid.measure(Path(tmp), c["grid_models"], c["grid_shots"], c["grid_size"],
                                seeds=c["grid_seeds"] if name == "report_grid_seeds" else 1, bare=name == "report_grid")
    raise SystemExit(f"unknown section {name!r}")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _child(name: str, quick: bool) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "clue.perf", "--section", name] + (["--quick"] if quick else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1], "section_s": time.perf_counter() - t0}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["section_s"] = time.perf_counter() - t0
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m clue.perf", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: proves the bench runs (figures meaningless)")
    ap.add_argument("--out", default="reports/bench.json", help="where the JSON goes (default reports/bench.json)")
    ap.add_argument("--only", default="", help="comma-separated sections (default: all): " + ", ".join(SECTIONS))
    ap.add_argument("--section", help=argparse.SUPPRESS)  # internal: run one section, print its JSON
    args = ap.parse_args(argv)
    config = QUICK if args.quick else FULL
    if args.section:
        result = run_section(args.section, config)
        result.setdefault("peak_rss_mb", _peak_rss_mb())
        print(json.dumps(result))
        return 0
    from clue.perf.table import render

    wanted = [s for s in (args.only.split(",") if args.only else SECTIONS) if s]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)} — choose from {', '.join(SECTIONS)}")
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    results: dict[str, Any] = {}
    for name in wanted:
        print(f"bench: {name} …", file=sys.stderr, flush=True)
        results[name] = _child(name, args.quick)
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
               "load_average_before": load_before, "load_average_after": os.getloadavg()}  # other work on the machine skews wall times
    report = {"quick": args.quick, "config": config, "machine": machine,
              "total_s": time.perf_counter() - t0, "sections": results}
    table, verdicts = render(report)
    report["targets"] = verdicts
    print(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten {out} ({report['total_s']:.0f} s)")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
