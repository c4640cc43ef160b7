"""samples.jsonl read column-wise (clue/report/columns.py) and kept between reports (clue/sample_columns.py).

Expected values are worked out by hand from the lines written here; the report over the same runs before and
after each change is the oracle for the cache (tests/core/test_report_equivalence.py covers the figures).
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from clue.errors import DataError
from clue.report import build_report
from clue.report.load import load_run
from clue.sample_columns import NAME
from tests.core.test_report_fixtures import sample, write_run


def _run(tmp_path: Path) -> Path:
    lines = [sample("meqsum", "SYNTHETIC-0", {"rougeL": 10.0, "rouge1": 20.0}, usage={"prompt_tokens": 7, "completion_tokens": 2}),
             sample("meqsum", "SYNTHETIC-1", {"rougeL": 30.0}, status="failed"),
             sample("meqsum", "SYNTHETIC-2", {"rougeL": 50.0, "rouge1": 40.0}, cached=True, usage={"prompt_tokens": 5, "completion_tokens": 1}),
             sample("mednli", "SYNTHETIC-3", {"accuracy": 100.0})]
    return write_run(tmp_path / "run", "SYNTHETIC/model", lines)


def test_columns_hold_what_the_lines_say(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path))
    lines = run["samples"]
    assert len(lines) == 4 and lines.task_names() == {"meqsum", "mednli"}
    ids, values = lines.task_items("meqsum", ["rougeL", "rouge1", "nothing"])
    assert ids == ["SYNTHETIC-0", "SYNTHETIC-2"]  # the failed line is not an item
    assert values[:, :2].tolist() == [[10.0, 20.0], [50.0, 40.0]] and np.isnan(values[:, 2]).all()
    # 7 + 5 prompt tokens, of which the cached line's 5 were not sent
    assert lines.usage_totals() == {"prompt_tokens": 12, "completion_tokens": 3, "sent_prompt_tokens": 7, "sent_completion_tokens": 2,
                                    "with_usage": 2, "samples": 4}
    assert lines[3]["task"] == "mednli" and [s["sample_id"] for s in lines][:2] == ["SYNTHETIC-0", "SYNTHETIC-1"]
    assert lines.lines_at([2])[0]["reference"] == "SYNTHETIC reference"


def test_lines_pyarrow_cannot_type_are_read_exactly(tmp_path: Path) -> None:
    path = _run(tmp_path)
    text = (path / "samples.jsonl").read_text(encoding="utf-8")
    line = json.loads(text.splitlines()[0])
    line["sample_id"], line["scores"]["rougeL"] = 17, True  # an int id, a boolean score
    (path / "samples.jsonl").write_text(json.dumps(line) + "\n  \n" + text, encoding="utf-8")  # and a whitespace-only line
    ids, values = load_run(path)["samples"].task_items("meqsum", ["rougeL"])
    assert ids == ["17", "SYNTHETIC-0", "SYNTHETIC-2"] and values[:, 0].tolist() == [1.0, 10.0, 50.0]


@pytest.mark.parametrize(("bad", "said"), [(b'{"task": "meqsum", "sample_id": \n', "line 2:"), (b'{"task": "\xff"}\n', "not UTF-8")])
def test_a_damaged_file_is_one_line(tmp_path: Path, bad: bytes, said: str) -> None:
    path = _run(tmp_path)
    good = (path / "samples.jsonl").read_bytes().split(b"\n")[0] + b"\n"
    (path / "samples.jsonl").write_bytes(good + bad)
    with pytest.raises(DataError, match=said):
        load_run(path)


def _csv(report: Path) -> list[str]:
    return (report.parent / "results.csv").read_text(encoding="utf-8").splitlines()


def test_a_rereport_reads_the_kept_columns_and_a_changed_run_afresh(tmp_path: Path) -> None:
    path = _run(tmp_path)
    first = _csv(build_report([path], tmp_path / "r1"))
    kept = path / NAME
    assert kept.is_file()
    stamp = kept.stat().st_mtime_ns
    assert _csv(build_report([path], tmp_path / "r2")) == first and kept.stat().st_mtime_ns == stamp  # read, not rewritten
    text = (path / "samples.jsonl").read_text(encoding="utf-8")
    (path / "samples.jsonl").write_text(text.replace('"rougeL": 50.0', '"rougeL": 90.0'), encoding="utf-8")
    changed = _csv(build_report([path], tmp_path / "r3", accept_edited=True))
    rouge = [r for r in changed if ",MeQSum,rougeL," in r]
    assert rouge and ",30.0,10.0,90.0," in rouge[0]  # the value scores.json says, the CI from the lines as they are now
    assert ",30.0,10.0,50.0," in next(r for r in first if ",MeQSum,rougeL," in r)
    assert kept.stat().st_mtime_ns != stamp


def test_a_damaged_or_foreign_kept_file_is_ignored(tmp_path: Path) -> None:
    path = _run(tmp_path)
    first = _csv(build_report([path], tmp_path / "r1"))
    (path / NAME).write_bytes(b"PAR1 not parquet")
    assert _csv(build_report([path], tmp_path / "r2")) == first


def test_the_kept_file_is_owner_only_for_credentialed_tasks(tmp_path: Path) -> None:
    credentialed = _run(tmp_path)  # CLUE's MeQSum/MedNLI: credentialed
    load_run(credentialed)
    assert stat.S_IMODE((credentialed / NAME).stat().st_mode) == 0o600
    public = write_run(tmp_path / "public", "SYNTHETIC/model", [sample("medqa", "SYNTHETIC-0", {"accuracy": 100.0})],
                       benchmark="clinicbench", titles={"medqa": "MedQA"})
    load_run(public)
    assert stat.S_IMODE((public / NAME).stat().st_mode) == 0o644


def test_a_run_directory_that_cannot_take_the_kept_file_is_reported_without_it(tmp_path: Path) -> None:
    path = _run(tmp_path)
    (path / NAME).mkdir()  # a folder in its place: writing it fails, as in a read-only run directory
    assert _csv(build_report([path], tmp_path / "r1")) == _csv(build_report([path], tmp_path / "r2"))
    assert (path / NAME).is_dir()


def test_a_run_written_by_the_kit_is_checked_by_its_file_digest(tmp_path: Path) -> None:
    from clue.rundir import write

    out = tmp_path / "run"
    out.mkdir()
    lines = [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": float(i)}) for i in range(3)]
    doc = {"model": "m", "protocol": "clue-v3", "tasks": {"meqsum": {"title": "MeQSum", "metrics": {"rougeL": 1.0}}}}
    write(out, lines, doc, {"model": "m"})
    recorded = json.loads((out / "run.json").read_text(encoding="utf-8"))["digests"]
    assert set(recorded["files"]) == {"samples.jsonl"}
    assert load_run(out)["integrity"]["edited"] == {}
    text = (out / "samples.jsonl").read_text(encoding="utf-8")
    (out / "samples.jsonl").write_text(text.replace('"rougeL": 2.0', '"rougeL": 2.5'), encoding="utf-8")
    assert load_run(out)["integrity"]["edited"] == {"meqsum": ["samples.jsonl"]}
    # layout is not content: the same lines re-serialised differ from the file digest but not from the lines' digests
    (out / "samples.jsonl").write_text("".join(json.dumps(json.loads(x), indent=None, separators=(", ", ":")) + "\n"
                                               for x in text.splitlines()), encoding="utf-8")
    assert load_run(out)["integrity"]["edited"] == {}
    assert not math.isnan(load_run(out)["samples"].task_items("meqsum", ["rougeL"])[1][0, 0])


def test_kept_intervals_are_those_of_their_inputs(tmp_path: Path) -> None:
    """Another --bootstrap, or other lines, is another key: the CIs shown are always those computed afresh."""
    from clue.report.summary import NAME as INTERVALS

    path = _run(tmp_path)
    build_report([path], tmp_path / "r1")
    again = _csv(build_report([path], tmp_path / "r2", replicates=200))
    assert len(json.loads((path / INTERVALS).read_text(encoding="utf-8"))["entries"]) == 2
    (path / INTERVALS).unlink()
    (path / NAME).unlink()
    assert _csv(build_report([path], tmp_path / "r3", replicates=200)) == again  # afresh: the same
    assert stat.S_IMODE((path / INTERVALS).stat().st_mode) == 0o600  # CLUE tasks: credentialed
    text = (path / "samples.jsonl").read_text(encoding="utf-8")
    (path / "samples.jsonl").write_text(text.replace('"rougeL": 10.0', '"rougeL": 0.0'), encoding="utf-8")
    changed = _csv(build_report([path], tmp_path / "r4", replicates=200))
    assert changed != again and len(json.loads((path / INTERVALS).read_text(encoding="utf-8"))["entries"]) == 2


def test_a_run_whose_intervals_are_not_kept_starts_them_as_it_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report starts a run's draws when it loads it (summary.start, from load_runs' on_loaded) only where its CIs
    are not kept under this key, and those started CIs are the ones computed in one go (clue.stats.run_intervals)."""
    from clue import stats
    from clue.report import summary
    from clue.report.load import load_runs

    path = _run(tmp_path)
    started: list[str] = []
    real = summary.start
    monkeypatch.setattr(summary, "start", lambda run, **kw: started.append(run["dir"]) or real(run, **kw))
    build_report([path], tmp_path / "r1", replicates=300)
    assert started == [str(path)]
    run = load_runs([path])[0]
    assert not summary.start(run, replicates=300, seed=stats.DEFAULT_SEED)  # kept now: nothing to start
    assert summary.start(run, replicates=301, seed=stats.DEFAULT_SEED) and summary.PREPARED in run  # another key
    early = summary.intervals(run, replicates=301, seed=stats.DEFAULT_SEED, private=True)
    assert summary.PREPARED not in run
    direct = stats.run_intervals(run["benchmark"], run["scores"], run["samples"], replicates=301, seed=stats.DEFAULT_SEED)
    assert early == direct


def test_kept_files_are_found_again_by_another_process(tmp_path: Path) -> None:
    """The keys do not depend on the process (string hashing orders sets differently in each)."""
    import subprocess
    import sys

    from clue.report.summary import NAME as INTERVALS
    from tests.conftest import ROOT

    path = _run(tmp_path)
    for hashseed in ("1", "2"):
        code = f"from clue.report import build_report; build_report([{str(path)!r}], {str(tmp_path / ('r' + hashseed))!r})"
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hashseed},
                       capture_output=True)
    assert len(json.loads((path / INTERVALS).read_text(encoding="utf-8"))["entries"]) == 1


def test_a_file_edited_in_place_with_its_times_set_back_is_hashed_again(tmp_path: Path) -> None:
    """The kept columns vouch for samples.jsonl's sha256 only while the file has the identity it had when hashed: the
    same size and mtime (set back with os.utime, as a careful editor would) still give a new ctime, and a copied run
    has a new inode — both are read and hashed again, and the edit is caught against run.json's digest."""
    from clue.rundir import write
    from clue.sample_columns import known_sha256

    out = tmp_path / "run"
    out.mkdir()
    lines = [sample("meqsum", f"SYNTHETIC-{i}", {"rougeL": float(i)}) for i in range(3)]
    doc = {"model": "m", "protocol": "clue-v3", "tasks": {"meqsum": {"title": "MeQSum", "metrics": {"rougeL": 1.0}}}}
    write(out, lines, doc, {"model": "m"})
    path = out / "samples.jsonl"
    first = load_run(out)
    assert first["integrity"]["edited"] == {}
    assert known_sha256(out, path) == first["samples_sha"]  # recorded: the next report need not read the bytes
    assert load_run(out)["integrity"]["edited"] == {}
    before = path.stat()
    data = path.read_bytes()
    assert b'"rougeL": 2.0' in data
    with open(path, "r+b") as fh:  # the same length, in place (same inode), then the times set back
        fh.write(data.replace(b'"rougeL": 2.0', b'"rougeL": 9.0'))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert path.stat().st_ino == before.st_ino
    assert known_sha256(out, path) is None
    assert load_run(out)["integrity"]["edited"] == {"meqsum": ["samples.jsonl"]}
    with pytest.raises(DataError, match="differ from the digests"):
        build_report([out], tmp_path / "report")
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(out, copy, copy_function=shutil.copy2)  # times kept, but another inode
    assert known_sha256(copy, copy / "samples.jsonl") is None


def test_a_metric_kept_sparse_reads_as_the_dense_column() -> None:
    """Lines with a value, lines without (NaN), positions unsorted, repeated, past the last value and none at all."""
    from clue.report.columns import Scores

    dense = np.array([np.nan, 10.0, np.nan, np.nan, 0.0, 55.5, np.nan])
    kept = Scores.of(dense)
    assert kept.rows.tolist() == [1, 4, 5] and kept.values.tolist() == [10.0, 0.0, 55.5]
    for positions in ([6, 0, 5, 5, 1, 3], [4], [], [6], list(range(7))):
        got = kept[np.array(positions, dtype=np.int64)]
        want = [[np.nan, 10.0, np.nan, np.nan, 0.0, 55.5, np.nan][p] for p in positions]
        np.testing.assert_array_equal(got, np.array(want, dtype=float))
    np.testing.assert_array_equal(kept.dense(), dense)
    none = Scores.of(np.full(3, np.nan))
    assert np.isnan(none[np.array([0, 2])]).all() and none.rows.size == 0


def test_the_compiled_template_cache_is_used_and_a_damaged_one_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jinja's compiled-template cache (clue/report/__init__.py `_compiled_templates`): filled by the first report;
    a cache file damaged on disk, or a temporary folder that is full, never changes or stops a report."""
    import tempfile

    import jinja2.bccache

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    path = _run(tmp_path)
    first = build_report([path], tmp_path / "r1").read_text(encoding="utf-8")
    cached = list((tmp_path / "tmp").glob("_jinja2-cache-*/__clue_report_*.cache"))
    assert cached, "no compiled template kept"
    for f in cached:
        f.write_bytes(b"\x00garbage")
    assert build_report([path], tmp_path / "r2").read_text(encoding="utf-8") == first

    def full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    for f in cached:
        f.unlink()
    monkeypatch.setattr(jinja2.bccache.tempfile, "NamedTemporaryFile", full)
    assert build_report([path], tmp_path / "r3").read_text(encoding="utf-8") == first
    assert not list((tmp_path / "tmp").glob("_jinja2-cache-*/__clue_report_*.cache"))
