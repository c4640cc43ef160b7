"""`python -m clue.perf --quick` runs every section end to end and writes the JSON (no timing asserts:
the figures of a tiny run mean nothing; `make bench` measures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SECTIONS = ("startup", "process", "saturation", "saturation_per_token", "saturation_slow", "overhead", "batching", "sequential", "resume",
            "rouge", "icd", "longhealth", "report", "report_scale", "report_grid", "report_grid_seeds", "peers")


def test_quick_bench_runs_every_section(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "clue.perf", "--quick", "--out", str(out)], capture_output=True, text=True,
                          timeout=420, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    sections = report["sections"]
    assert set(sections) == set(SECTIONS)
    assert not [name for name, r in sections.items() if "error" in r]
    assert all(r["peak_rss_mb"] > 0 for r in sections.values())
    assert sections["resume"]["requests_sent"] == 0 and sections["resume"]["runner_sent"] == 0  # nothing paid twice
    assert sections["saturation"]["max_in_flight"] == report["config"]["concurrency"]  # the runner filled the pool
    assert sections["rouge"]["identical_scores"] is True and sections["rouge"]["ours_cpu_s"] > 0
    for engine in ("tgi", "openai"):
        assert sections["process"][engine]["resume_sent"] == 0 and sections["process"][engine]["sent"] == report["config"]["proc_n"]
        assert sections["startup"][engine]["imports_s"] > 0
    assert sections["process"]["bytecode"]["compiled"] is True and sections["startup"]["bytecode"]["compiled"] is True
    batching = sections["batching"]
    assert batching["tgi"]["default_max_in_flight"] <= batching["advertised"]  # the advertised limit is never exceeded
    assert batching["tgi"]["runs"]["default"]["gate"]["source"].startswith("server /info")
    assert batching["openai"]["runs"]["default"]["gate"]["source"].startswith("adaptive")
    assert batching["openai_tgi"]["runs"]["default"]["gate"]["source"].startswith("server /info")  # TGI's limit, on the OpenAI route
    assert batching["openai_tgi"]["default_max_in_flight"] <= batching["advertised"]
    assert batching["openai_refuse"]["runs"]["default"]["gate"]["source"].startswith("adaptive")
    assert batching["openai_refuse"]["best_fixed"] <= batching["hidden_limit"]  # fixed numbers above the hidden limit lose requests
    assert "skipped" in sections["peers"]  # --quick installs no peers
    assert sections["longhealth"]["max_encodes_per_document"] == 1  # each document tokenized once
    assert 0 < sections["longhealth"]["documents_encoded"] <= sections["longhealth"]["distinct_documents"]
    for row in ("0 start-up", "1 whole process, tgi", "1 whole process, openai", "1 saturation", "2 ours, tgi engine",
                "2 ours, openai engine", "8 batching server", "3 sequential", "4 resume", "4 resume, whole process", "5 ROUGE",
                "5 ROUGE: CPU", "5 ICD-10", "5 LongHealth", "6 report build", "6 report", "6 report build, ClinicBench-shaped",
                "7 peak RSS", "9 peers", "6 grid report", "re-report after one run changed", "bytecode compiled before timing"):
        assert row in proc.stdout, row
    assert set(report["targets"]) >= {"startup_tgi", "startup_openai", "process_tgi", "process_openai", "overhead_tgi_cpu",
                                      "overhead_openai_cpu", "batching_tgi", "batching_openai", "batching_openai_tgi", "batching_openai_refuse",
                                      "batching_limit_tgi", "batching_limit_openai_tgi", "resume_sent", "rouge",
                                      "longhealth_cache"}
    assert "saturation" not in report["targets"]  # wall ÷ ideal on a shared 2-core machine is shown, not targeted


def test_unknown_section_is_refused():
    proc = subprocess.run([sys.executable, "-m", "clue.perf", "--quick", "--only", "nope"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode != 0 and "nope" in proc.stderr


def test_bytecode_is_current_for_every_module_after_the_bench_compiles_it(tmp_path: Path) -> None:
    """The whole-process figures time the kit with its bytecode, as an installed kit has it: after `bytecode()` each
    module's cached bytecode names the source's current mtime and size (what the import system checks), even where
    PYTHONDONTWRITEBYTECODE keeps imports from writing it. A module touched now (as a checkout does) is recompiled."""
    import importlib.util
    import os

    import clue
    from clue.perf.process import bytecode

    package = Path(clue.__file__).resolve().parent
    touched = package / "perf" / "table.py"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))  # newer than its bytecode: stale now
    try:
        assert bytecode()["compiled"] is True
        stale = []
        for source in sorted(package.rglob("*.py")):
            cached = Path(importlib.util.cache_from_source(str(source)))
            header = cached.read_bytes()[:16] if cached.exists() else b""
            st = source.stat()
            if header[4:8] != b"\0\0\0\0" or int.from_bytes(header[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF \
                    or int.from_bytes(header[12:16], "little") != st.st_size & 0xFFFFFFFF:
                stale.append(str(source.relative_to(package)))
        assert not stale, stale
    finally:
        os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        bytecode()
