"""Issue 23 item 7: ratings are one unit.

An import across runs either changes every run's file or none (a full disk while writing leaves all the old
files); a kill -9 between the renames leaves runs with different import ids, and the report says so until the
import is run again. An interrupted export can simply be run again (no half export to delete by hand).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from clue.errors import UserError
from clue.ratings.importer import import_ratings
from clue.report import build_report
from tests.conftest import ROOT, run_clue
from tests.core.ratings_fixtures import fake_runs
from tests.core.test_ratings import export, fill_csv, good_scores

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "HF_"))} | {"PYTHONPATH": str(ROOT)}


@pytest.fixture
def rated(tmp_path: Path):
    """(runs, key, key path, returned sheets A, returned sheets B): A and B rate the same export differently."""
    runs = fake_runs(tmp_path / "runs")
    out = export(tmp_path, runs)
    key_path = out / "key" / "key.json"
    key = json.loads(key_path.read_text())
    returned = []
    for name, shift in (("back-a", 0), ("back-b", 1)):
        folder = tmp_path / name
        folder.mkdir()
        for sheet_id, meta in key["sheets"].items():
            fill_csv(out / meta["rater"] / f"{sheet_id}.csv", key, good_scores(shift), dest=folder / f"{sheet_id}.csv")
        returned.append(folder)
    return runs, key, key_path, returned[0], returned[1]


def stored(runs: list[Path], key: dict) -> list[bytes]:
    return [(r / "ratings" / f"{key['export']}.json").read_bytes() for r in runs]


def import_ids(runs: list[Path], key: dict) -> set[str]:
    return {str(json.loads(b).get("import") or json.loads(b)["imported"]) for b in stored(runs, key)}


@contextmanager
def full_disk_on_file(nth: int, monkeypatch):
    """Inside the block, the nth file opened through os.fdopen fails its write as a full disk would."""
    real_fdopen, opened = os.fdopen, []

    def fdopen(fd, *args, **kwargs):
        fh = real_fdopen(fd, *args, **kwargs)
        opened.append(fd)
        if len(opened) == nth:
            def write(_data):
                raise OSError(28, "No space left on device")
            fh.write = write
        return fh

    monkeypatch.setattr(os, "fdopen", fdopen)
    try:
        yield
    finally:
        monkeypatch.setattr(os, "fdopen", real_fdopen)


def test_a_full_disk_during_import_changes_no_run(rated, monkeypatch):
    runs, key, key_path, back_a, back_b = rated
    import_ratings([back_a], key_path)
    old = stored(runs, key)
    with full_disk_on_file(2, monkeypatch), pytest.raises(UserError):
        import_ratings([back_b], key_path)
    assert stored(runs, key) == old  # every run keeps the old import
    assert [p.name for r in runs for p in (r / "ratings").iterdir()] == [f"{key['export']}.json"] * len(runs)  # no temp left


KILLER = """
import os, signal, sys
what, nth, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
real, count = getattr(os, what), [0]
def killing(*a, **k):
    count[0] += 1
    if count[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*a, **k)
setattr(os, what, killing)
from clue.cli import main
sys.exit(main(args))
"""


def test_kill_9_during_import_leaves_old_new_or_a_flagged_mix(rated, tmp_path: Path):
    runs, key, key_path, back_a, back_b = rated
    import_ratings([back_a], key_path)
    old = stored(runs, key)
    import_ratings([back_b], key_path)
    new_ratings = [json.loads(b)["ratings"] for b in stored(runs, key)]
    outcomes = {}
    for what, nth in (("fdopen", 1), ("fdopen", 2), ("replace", 1), ("replace", 2), ("replace", 3)):
        for run, data in zip(runs, old):
            (run / "ratings" / f"{key['export']}.json").write_bytes(data)
        proc = subprocess.run([sys.executable, "-c", KILLER, what, str(nth), "ratings", "import", str(back_b), "--key", str(key_path)],
                              capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
        now = stored(runs, key)
        state = ("old" if now == old else "new" if [json.loads(b)["ratings"] for b in now] == new_ratings and len(import_ids(runs, key)) == 1
                 else "mixed")
        outcomes[(what, nth)] = (proc.returncode, state)
        html = build_report(runs, tmp_path / "rep", replicates=20).read_text(encoding="utf-8")
        assert ("Mixed imports" in html) == (state == "mixed"), (what, nth, state)
    assert outcomes == {("fdopen", 1): (-9, "old"), ("fdopen", 2): (-9, "old"), ("replace", 1): (-9, "old"),
                        ("replace", 2): (-9, "mixed"), ("replace", 3): (0, "new")}
    # the mix is mended by importing again
    for run, data in zip(runs, old):
        (run / "ratings" / f"{key['export']}.json").write_bytes(data)
    assert run_clue("ratings", "import", str(back_b), "--key", str(key_path)).returncode == 0
    assert len(import_ids(runs, key)) == 1
    assert "Mixed imports" not in build_report(runs, tmp_path / "rep", replicates=20).read_text(encoding="utf-8")


def test_an_interrupted_export_can_be_run_again(tmp_path: Path, monkeypatch):
    from clue.ratings.export import export as do_export
    from clue.ratings.rubric import load_rubric
    from clue.report.load import load_runs

    runs = fake_runs(tmp_path / "runs")
    args = ["ratings", "export", *map(str, runs), "--task", "meqsum", "--n", "12", "--seed", "7", "--raters", "2"]
    whole = export(tmp_path, runs, out="whole")
    out = tmp_path / "exp"
    with full_disk_on_file(3, monkeypatch), pytest.raises(UserError):
        do_export(load_runs(runs), out, task="meqsum", n=12, seed=7, raters=2, rubric=load_rubric(None))
    assert not (out / "key" / "key.json").exists()
    for nth in (1, 4, 8):  # kill -9 part-way through (8 files: 2 raters × 3, README, key)
        proc = subprocess.run([sys.executable, "-c", KILLER, "fdopen", str(nth), *args, "--out", str(out)],
                              capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300)
        assert proc.returncode == -9 and not (out / "key" / "key.json").exists(), nth
    again = run_clue(*args, "--out", str(out))  # the same command, nothing deleted by hand
    assert again.returncode == 0, again.stderr
    def layout(folder: Path) -> list[tuple[str, str]]:  # file names carry the export's random id
        return sorted((str(p.parent.relative_to(folder)), p.suffix) for p in folder.rglob("*") if p.is_file())
    assert layout(out) == layout(whole)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".exp")] == []
    shutil.rmtree(whole)


def test_privacy_follows_the_one_rule_not_a_flag_the_files_carry(tmp_path: Path):
    """MeDiSumQA is MIMIC-derived (CLUE marks it credentialed). Runs whose scores.json says otherwise, and a key
    edited to say otherwise, still get the report's rule: the export needs the opt-in, and the import is owner-only."""
    runs = fake_runs(tmp_path / "runs", task="medisumqa", credentialed=False, recorded=True)
    base = ["ratings", "export", *map(str, runs), "--task", "medisumqa", "--n", "12", "--seed", "7", "--raters", "2"]
    refused = run_clue(*base, "--out", str(tmp_path / "refused"))
    err = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(err) == 1 and "--allow-phi-export" in err[0], refused.stderr
    assert not (tmp_path / "refused").exists()
    proc = run_clue(*base, "--out", str(tmp_path / "exp"), "--allow-phi-export")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "exp").stat().st_mode & 0o777 == 0o700
    key_path = tmp_path / "exp" / "key" / "key.json"
    key = json.loads(key_path.read_text())
    key["credentialed"] = False  # a hand-edited key
    key_path.write_text(json.dumps(key))
    back = tmp_path / "back"
    back.mkdir()
    for sheet_id, meta in key["sheets"].items():
        fill_csv(tmp_path / "exp" / meta["rater"] / f"{sheet_id}.csv", key, good_scores(0), dest=back / f"{sheet_id}.csv")
    assert run_clue("ratings", "import", str(back), "--key", str(key_path)).returncode == 0
    files = [r / "ratings" / f"{key['export']}.json" for r in runs]
    assert all(f.is_file() and f.stat().st_mode & 0o777 == 0o600 for f in files)
