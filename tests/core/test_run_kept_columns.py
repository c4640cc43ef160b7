"""The columns `clue run` keeps beside a large run (clue/sample_columns.py `keep_run`, from clue/rundir.py `write`).

The oracle is the report's own reader of samples.jsonl (pyarrow's JSON parser, clue/report/columns.py `read`), which
shares no code with the run's side (columns built from the lines as read back); byte spans and totals are also
worked out by hand. `RUN_KEEPS_FROM` is lowered so that a few lines count as a large run.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clue import sample_columns
from clue.report import build_report
from clue.report.columns import read
from clue.report.load import load_run
from clue.rundir import write
from clue.sample_columns import NAME
from tests.core.test_report_fixtures import sample

DOC = {"model": "m", "protocol": "clue-v3",
       "tasks": {"meqsum": {"title": "MeQSum", "metrics": {"rougeL": 40.0, "rouge1": 30.0}},
                 "mednli": {"title": "MedNLI", "metrics": {"accuracy": 50.0}}}}


def _lines() -> list[dict[str, Any]]:
    """Lines as a real run leaves them, with what tripped readers before: multi-byte text (byte offsets ≠ characters),
    a failed line (no scores), a null score, usage absent, partial or with a key of no interest,
    a cached line, two tasks interleaved."""
    lines = [sample("meqsum", "SYNTHETIC-0", {"rougeL": 10.0, "rouge1": 20.0}, output="Dyspnée — 呼吸困難 🫁",
                    usage={"prompt_tokens": 7, "completion_tokens": 2}),
             sample("mednli", "SYNTHETIC-1", {"accuracy": 100.0}, usage={"completion_tokens": 4}),
             sample("meqsum", "SYNTHETIC-2", {"rougeL": 30.0}, status="failed"),
             sample("meqsum", "SYNTHETIC-3", {"rougeL": 70.0, "rouge1": None}, cached=True, usage={"prompt_tokens": 5, "completion_tokens": 1}),
             sample("mednli", "SYNTHETIC-4", {"accuracy": 0.0}, usage={"cost_usd": 3}),
             sample("meqsum", "SYNTHETIC-5", {"rougeL": 50.0, "rouge1": 60.0})]
    return lines


def _write(tmp_path: Path, lines: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, keeps_from: int = 1) -> Path:
    monkeypatch.setattr(sample_columns, "RUN_KEEPS_FROM", keeps_from)
    out = tmp_path / "run"
    out.mkdir()
    write(out, lines, json.loads(json.dumps(DOC)), {"model": "m"})
    return out


def _same(a: sample_columns.Columns, b: sample_columns.Columns, metrics: list[str]) -> None:
    assert a.tasks == b.tasks and a.task.tolist() == b.task.tolist() and a.ok.tolist() == b.ok.tolist()
    assert a.ids.to_pylist() == b.ids.to_pylist() and a.usage == b.usage
    assert a.offsets is not None and b.offsets is not None and a.ends is not None and b.ends is not None
    assert a.offsets.tolist() == b.offsets.tolist() and a.ends.tolist() == b.ends.tolist()
    for m in metrics:
        np.testing.assert_array_equal(a.metrics[m].dense(), b.metrics[m].dense())  # NaN where NaN


def test_a_large_run_keeps_what_the_reports_reader_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _write(tmp_path, _lines(), monkeypatch)
    data = (out / "samples.jsonl").read_bytes()
    sha = json.loads((out / "run.json").read_text(encoding="utf-8"))["digests"]["files"]["samples.jsonl"]
    assert sample_columns.known_sha256(out, out / "samples.jsonl") == sha  # stamped after the write: no hashing needed
    assert stat.S_IMODE((out / NAME).stat().st_mode) == 0o600  # as samples.jsonl
    for metrics in (["rougeL", "rouge1", "accuracy"], ["accuracy"], ["rouge1", "bleu", "rougeL"], []):  # any subset, any order
        kept = sample_columns.load(out, sha, metrics)
        assert kept is not None
        _same(kept, read(out / "samples.jsonl", metrics, data), metrics)
    kept = sample_columns.load(out, sha, ["rougeL", "rouge1", "bleu"])
    assert kept is not None
    rows = data.split(b"\n")
    # by hand: line 0 starts at 0 and ends before its newline; line 1 starts after it (bytes, not characters)
    assert kept.offsets is not None and kept.ends is not None
    assert (kept.offsets[0], kept.ends[0], kept.offsets[1]) == (0, len(rows[0]), len(rows[0]) + 1)
    assert len(rows[0]) > len(rows[0].decode("utf-8"))  # the multi-byte line really is longer in bytes
    assert kept.tasks == ["meqsum", "mednli"] and kept.task.tolist() == [0, 1, 0, 0, 1, 0]
    assert kept.ok.tolist() == [True, True, False, True, True, True] and kept.ids.to_pylist()[4] == "SYNTHETIC-4"
    assert kept.metrics["rouge1"][np.arange(6)].tolist()[:1] == [20.0] and np.isnan(kept.metrics["rouge1"][np.array([1, 2, 3])]).all()
    assert np.isnan(kept.metrics["bleu"].dense()).all()  # held by no line
    # usage by hand: lines 0, 1, 3 report tokens (line 4's cost_usd is none of them); line 3 was cached (not sent)
    assert kept.usage == {"prompt_tokens": 12, "completion_tokens": 7, "sent_prompt_tokens": 7, "sent_completion_tokens": 6,
                          "with_usage": 3, "samples": 6}


def test_the_first_report_reads_no_line_and_says_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _write(tmp_path, _lines(), monkeypatch)
    kept = build_report([out], tmp_path / "kept")

    def no_parse(*_: Any) -> Any:
        raise AssertionError("samples.jsonl parsed although its columns were kept")

    import clue.report.columns

    copy = tmp_path / "copy" / "run"
    copy.mkdir(parents=True)
    for name in ("samples.jsonl", "scores.json", "run.json"):  # the same run without the kept file
        (copy / name).write_bytes((out / name).read_bytes())
    fresh = build_report([copy], tmp_path / "fresh")
    monkeypatch.setattr(clue.report.columns, "read", no_parse)
    again = build_report([out], tmp_path / "again")
    csv = [(p.parent / "results.csv").read_text(encoding="utf-8") for p in (kept, fresh, again)]
    assert csv[0] == csv[1] == csv[2]
    assert load_run(out)["integrity"]["edited"] == {}


def test_a_small_run_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines()
    text = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines).encode("utf-8")
    out = _write(tmp_path, lines, monkeypatch, keeps_from=len(text) + 1_000)  # the file is well under the threshold
    assert (out / "samples.jsonl").is_file() and not (out / NAME).exists()


def test_scores_that_are_not_numbers_leave_the_reading_to_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines()
    lines[5]["scores"]["rouge1"] = "high"  # a scorer that wrote a word: the run still finishes, keeps no columns
    out = _write(tmp_path, lines, monkeypatch)
    assert (out / "scores.json").is_file() and not (out / NAME).exists()


@pytest.mark.parametrize("odd", ["usage beyond 64 bits", "usage not an object", "score beyond a float"])
def test_a_line_the_columns_cannot_hold_never_fails_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd: str) -> None:
    """What a server or an earlier run's merged lines may hold — a token count past 2**63 (OpenAI-style bodies accept
    any int), a usage that is not an object, an int score past float range — stops neither the run nor its files:
    scores.json and run.json are written, and the columns, where kept at all, are what the report reads itself."""
    lines = _lines()
    if odd == "usage beyond 64 bits":
        lines[0]["usage"]["prompt_tokens"] = 2**63
    elif odd == "usage not an object":
        lines[0]["usage"] = [7, 2]
    else:
        lines[5]["scores"]["rouge1"] = 10**400
    out = _write(tmp_path, lines, monkeypatch)
    assert {p.name for p in out.iterdir()} >= {"samples.jsonl", "scores.json", "run.json"}
    kept_by_run = (out / NAME).exists()
    run = load_run(out)
    assert run["integrity"]["edited"] == {}
    if odd == "usage beyond 64 bits":  # read exactly, by the run's columns and the report's reader alike: 2**63 + 5
        assert run["samples"].usage_totals()["prompt_tokens"] == 2**63 + 5
    assert kept_by_run == (odd == "usage beyond 64 bits")  # the others: not kept (the report says what is wrong, if anything)
    if kept_by_run:  # kept only where they are what the report's reader reads
        sha = json.loads((out / "run.json").read_text(encoding="utf-8"))["digests"]["files"]["samples.jsonl"]
        metrics = ["rougeL", "rouge1", "accuracy"]
        kept = sample_columns.load(out, sha, metrics)
        assert kept is not None
        _same(kept, read(out / "samples.jsonl", metrics), metrics)


def test_an_id_that_is_not_a_string_leaves_the_reading_to_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _lines()
    lines[4]["sample_id"] = 4  # the report's reader gives "4" (str of what JSON gives back), so the run keeps nothing
    out = _write(tmp_path, lines, monkeypatch)
    assert not (out / NAME).exists()
    assert load_run(out)["samples"].task_items("mednli", ["accuracy"])[0] == ["SYNTHETIC-1", "4"]


def test_an_edit_after_the_run_is_read_afresh_and_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _write(tmp_path, _lines(), monkeypatch)
    path = out / "samples.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"rougeL": 50.0', b'"rougeL": 95.0'))
    run = load_run(out)
    assert run["integrity"]["edited"] == {"meqsum": ["samples.jsonl"]}
    ids, values = run["samples"].task_items("meqsum", ["rougeL"])
    assert ids[-1] == "SYNTHETIC-5" and values[-1, 0] == 95.0  # the file's value, not the kept one


def test_a_report_kept_file_serves_only_the_metrics_it_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A kept file the report wrote holds the metrics that report read, not every metric: asked for another set it
    serves nothing (a metric it lacks may well be in the lines)."""
    out = _write(tmp_path, _lines(), monkeypatch, keeps_from=1 << 40)
    data = (out / "samples.jsonl").read_bytes()
    sha = json.loads((out / "run.json").read_text(encoding="utf-8"))["digests"]["files"]["samples.jsonl"]
    sample_columns.save(out, sha, ["rougeL"], read(out / "samples.jsonl", ["rougeL"], data), private=True)
    assert sample_columns.load(out, sha, ["rougeL"]) is not None
    assert sample_columns.load(out, sha, ["rougeL", "rouge1"]) is None and sample_columns.load(out, sha, ["accuracy"]) is None


def test_kept_columns_read_from_their_buffers_as_arrows_own_conversion() -> None:
    """`_numpy` (which avoids importing pandas) against pyarrow's `to_numpy`, on slices (an offset into the buffer:
    bits for booleans, bytes for numbers) of every type the kept file stores, and a column with a null."""
    import pyarrow as pa

    from clue.sample_columns import _numpy

    rng = np.random.default_rng(5)
    columns = [pa.array(rng.integers(-9, 9, 37).astype(np.int32)), pa.array(rng.integers(0, 2**40, 37)),
               pa.array(rng.random(37)), pa.array(rng.random(37) < 0.5), pa.array(rng.integers(0, 255, 37).astype(np.uint8)),
               pa.array([1.5, None, float("nan")])]
    for arr in columns:
        for part in (arr, arr.slice(3), arr.slice(5, 11), arr.slice(9, 0)):
            got, want = _numpy(part), part.to_numpy(zero_copy_only=False)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(got, want)
