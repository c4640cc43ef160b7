"""Issue 23 items 1 and 3: a report is private by what it holds, and written whole or not at all.

Item 1: a report showing credentialed text (MedNLI is MIMIC-derived) without --redact is owner-only (files 0600,
folder 0700); redacted or public-only reports are 0644/0755. Item 3: a full disk (RLIMIT_FSIZE, what `ulimit -f`
sets) or a kill -9 at any point while `clue report` writes leaves the old complete report or the new one.
"""

from __future__ import annotations

import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from clue.files import write_folder
from clue.report import build_report
from tests.conftest import ROOT, run_clue
from tests.core.test_report_fixtures import sample, write_run


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def mixed_run(path: Path, model: str = "SYNTHETIC/model") -> Path:
    lines = [sample("mednli", f"SYNTHETIC-{i}", {"accuracy": 100.0 * (i % 2)}, prompt="SYNTHETIC-NOTE patient text") for i in range(6)]
    lines += [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 30.0 + i}, prompt="SYNTHETIC public inquiry") for i in range(6)]
    return write_run(path, model, lines)


def public_run(path: Path, model: str = "SYNTHETIC/public") -> Path:
    return write_run(path, model, [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": 20.0 + i}) for i in range(6)])


def test_report_with_credentialed_text_is_owner_only(tmp_path: Path):
    run = mixed_run(tmp_path / "r")
    out = tmp_path / "plain"
    html = build_report([run], out, replicates=20)
    assert "SYNTHETIC-NOTE patient text" in html.read_text(encoding="utf-8")
    assert (mode(out), mode(out / "index.html"), mode(out / "results.csv")) == (0o700, 0o600, 0o600)

    red = tmp_path / "red"
    build_report([run], red, redact=True, replicates=20)
    assert (mode(red), mode(red / "index.html"), mode(red / "results.csv")) == (0o755, 0o644, 0o644)

    public = tmp_path / "public"
    build_report([public_run(tmp_path / "p")], public, replicates=20)
    assert (mode(public), mode(public / "index.html"), mode(public / "results.csv")) == (0o755, 0o644, 0o644)
    # the same folder re-used for a credentialed report becomes private, and back
    build_report([run], public, replicates=20)
    assert (mode(public), mode(public / "index.html"), mode(public / "results.csv")) == (0o700, 0o600, 0o600)
    build_report([run], public, redact=True, replicates=20)
    assert (mode(public), mode(public / "index.html")) == (0o755, 0o644)


def test_write_folder_keeps_files_it_does_not_own(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    write_folder(tmp_path, {"index.html": "<html></html>"}, private=True)
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "index.html").read_text() == "<html></html>"
    assert mode(tmp_path / "index.html") == 0o600 and mode(tmp_path) == 0o700
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def two_reports(tmp_path: Path):
    """(runs of the old report, runs of the new one, the old folder's files, the new one's built elsewhere)."""
    a, b = mixed_run(tmp_path / "a", "SYNTHETIC/a"), public_run(tmp_path / "b", "SYNTHETIC/b")
    old_args, new_args = [str(a)], [str(a), str(b)]
    for args, out in ((old_args, "rep"), (new_args, "ref-new")):
        proc = run_clue("report", *args, "--out", str(tmp_path / out), "--bootstrap", "20")
        assert proc.returncode == 0, proc.stderr
    return old_args, new_args, snapshot(tmp_path / "rep"), snapshot(tmp_path / "ref-new")


def test_full_disk_leaves_the_old_report_whole(tmp_path: Path, two_reports):
    old_args, new_args, old, new = two_reports
    assert old != new and len(new["index.html"]) > 4096
    limit = len(new["index.html"]) // 2

    def small_disk():  # what `ulimit -f` does: writes past the limit fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))} | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "clue", "report", *new_args, "--out", str(tmp_path / "rep"), "--bootstrap", "20"],
                          capture_output=True, text=True, env=env, cwd=ROOT, preexec_fn=small_disk, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode != 0 and len(lines) == 1 and "cannot write" in lines[0], proc.stderr
    assert snapshot(tmp_path / "rep") == old  # the old report, whole
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".rep")] == []  # nothing staged left behind


KILLER = """
import os, signal, sys
import clue.files as f
point, args = sys.argv[1], sys.argv[2:]
count = [0]
put, swap = f._put, f._swap_in
def die():
    os.kill(os.getpid(), signal.SIGKILL)
def killing_put(path, data, private):
    count[0] += 1
    if point == f"put{count[0]}-half":
        with open(path, "wb") as fh:
            fh.write((data.encode() if isinstance(data, str) else data)[: len(data) // 2])
        die()
    put(path, data, private)
    if point == f"put{count[0]}-done":
        die()
def killing_swap(stage, folder):
    if point == "swap-before":
        die()
    swap(stage, folder)
    if point == "swap-after":
        die()
kept = [0]
replace = f._replace
def killing_replace(path, data, *, private):
    kept[0] += 1
    if point == f"keep{kept[0]}-half":  # what a kill part-way through the staging write leaves: a partial temp file
        import tempfile
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.write(fd, (data.encode() if isinstance(data, str) else data)[: len(data) // 2])
        die()
    replace(path, data, private=private)
    if point == f"keep{kept[0]}-done":
        die()
f._put, f._swap_in, f._replace = killing_put, killing_swap, killing_replace
from clue.cli import main
sys.exit(main(args))
"""
POINTS = ("put1-half", "put1-done", "put2-half", "put2-done", "swap-before", "swap-after")


def test_kill_9_while_writing_leaves_old_or_new(tmp_path: Path, two_reports):
    old_args, new_args, old, new = two_reports
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))} | {"PYTHONPATH": str(ROOT)}
    seen = []
    for point in POINTS:
        proc = subprocess.run([sys.executable, "-c", KILLER, point, "report", *new_args, "--out", str(tmp_path / "rep"),
                               "--bootstrap", "20"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr)
        now = snapshot(tmp_path / "rep")
        assert now in (old, new), point
        seen.append("new" if now == new else "old")
        if now == new:  # back to the old one for the next point
            assert run_clue("report", *old_args, "--out", str(tmp_path / "rep"), "--bootstrap", "20").returncode == 0
            assert snapshot(tmp_path / "rep") == old
    assert seen == ["old"] * 5 + ["new"]
    assert run_clue("report", *new_args, "--out", str(tmp_path / "rep"), "--bootstrap", "20").returncode == 0
    assert snapshot(tmp_path / "rep") == new
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".rep")] == []  # a crash's staging folder is cleared


KEPT = ("report-columns.parquet", "report-intervals.json", "report-comparisons.json")  # what a report keeps beside a run
COLD_POINTS = ("keep1-half", "keep1-done", "keep2-half", "keep2-done")


def test_kill_9_while_keeping_run_summaries_leaves_the_old_report_and_a_usable_cache(tmp_path: Path, two_reports):
    """Four more kill points, in a cold report: the first files written are the summaries kept beside each run. A
    kill there leaves the old report folder untouched, and the next report (reading whatever was kept) is the new
    report byte for byte: a half-written kept file is never read as a summary."""
    old_args, new_args, old, new = two_reports
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))} | {"PYTHONPATH": str(ROOT)}
    runs = [Path(a) for a in new_args]
    for point in COLD_POINTS:
        for run in runs:
            for name in KEPT:
                (run / name).unlink(missing_ok=True)
        proc = subprocess.run([sys.executable, "-c", KILLER, point, "report", *new_args, "--out", str(tmp_path / "rep"),
                               "--bootstrap", "20"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        assert proc.returncode == -signal.SIGKILL, (point, proc.stderr)
        assert any((run / name).exists() for run in runs for name in KEPT) == (point != "keep1-half"), point
        assert snapshot(tmp_path / "rep") == old, point
        again = tmp_path / f"again-{point}"
        assert run_clue("report", *new_args, "--out", str(again), "--bootstrap", "20").returncode == 0
        assert snapshot(again) == new, point


def test_without_an_atomic_exchange_the_folder_is_still_replaced_whole(tmp_path: Path, monkeypatch):
    import clue.files as files

    out = tmp_path / "rep"
    write_folder(out, {"index.html": "old", "results.csv": "old"}, private=False)
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)  # e.g. macOS: two renames instead
    write_folder(out, {"index.html": "new", "results.csv": "new"}, private=True)
    assert snapshot(out) == {"index.html": b"new", "results.csv": b"new"} and mode(out) == 0o700
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_a_symlinked_report_folder_keeps_its_link(tmp_path: Path):
    target = tmp_path / "2026-12-06"
    write_folder(target, {"index.html": "old"}, private=False)
    (tmp_path / "latest").symlink_to(target)
    write_folder(tmp_path / "latest", {"index.html": "new"}, private=False)
    assert (tmp_path / "latest").is_symlink() and (target / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-12-06", "latest"]
