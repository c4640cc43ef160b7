"""`python -m clue.bench --quick` runs every section end to end and writes the JSON (no timing asserts:
the figures of a tiny run mean nothing; `make bench` measures)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

SECTIONS = ("saturation", "saturation_per_token", "saturation_slow", "overhead", "sequential", "resume", "rouge", "icd", "longhealth", "report", "report_scale")


def test_quick_bench_runs_every_section(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "clue.bench", "--quick", "--out", str(out)], capture_output=True, text=True,
                          timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    sections = report["sections"]
    assert set(sections) == set(SECTIONS)
    assert not [name for name, r in sections.items() if "error" in r]
    assert all(r["peak_rss_mb"] > 0 for r in sections.values())
    assert sections["resume"]["requests_sent"] == 0 and sections["resume"]["runner_sent"] == 0  # nothing paid twice
    assert sections["saturation"]["max_in_flight"] == report["config"]["concurrency"]  # the runner filled the pool
    assert sections["rouge"]["identical_scores"] is True
    assert sections["longhealth"]["max_encodes_per_document"] == 1  # each document tokenized once
    assert 0 < sections["longhealth"]["documents_encoded"] <= sections["longhealth"]["distinct_documents"]
    for row in ("1 saturation", "2 ours, tgi engine", "2 ours, openai engine", "3 sequential", "4 resume", "5 ROUGE",
                "5 ICD-10", "5 LongHealth", "6 report build", "6 report", "6 report build, ClinicBench-shaped", "7 peak RSS"):
        assert row in proc.stdout, row
    assert set(report["targets"]) >= {"saturation", "overhead_tgi_cpu", "resume_sent", "rouge", "longhealth_cache"}


def test_unknown_section_is_refused():
    proc = subprocess.run([sys.executable, "-m", "clue.bench", "--quick", "--only", "nope"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert proc.returncode != 0 and "nope" in proc.stderr
