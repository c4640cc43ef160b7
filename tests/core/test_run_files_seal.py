"""run.json's digests are those a reader recomputes from the files written (the digest rule applied by hand here),
also for lines that do not read back as themselves: keys that are not strings, tuples, lone surrogates."""

from __future__ import annotations

import hashlib
import json

from clue import rundir


def _canonical_digest(lines: list[dict]) -> str:
    return hashlib.sha256(b"".join(json.dumps(ln, sort_keys=True, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"
                                   for ln in lines)).hexdigest()


def test_samples_are_sealed_as_they_read_back(tmp_path):
    lines = [
        {"task": "t", "sample_id": "1", "scores": {"f1": 0.1}, "prompt": [{"role": "user", "content": "x\ud800y"}], "ids": (1, 2)},
        {"task": "t", "sample_id": "2", "scores": {2: 1.0, 10: 2.0}},  # int keys: read back as "10" < "2"
        {"task": "t", "sample_id": "3", "nested": [{"a": {"b": (1, {3: "x", 20: "y"})}}]},
        {"task": "u", "sample_id": "1", "scores": {"rougeL": 12.5}, "prompt": "é ✓", "usage": {}},
    ]
    doc = {"model": "m", "tasks": {"t": {"metrics": {"f1": 1.0}}, "u": {"metrics": {"rougeL": 12.5}}}}
    rundir.write(tmp_path, lines, doc, {"command": "clue run"})
    record = json.loads((tmp_path / "run.json").read_text())
    raw = (tmp_path / "samples.jsonl").read_bytes()
    read = [json.loads(ln) for ln in raw.decode("utf-8").splitlines()]
    assert read[1]["scores"] == {"2": 1.0, "10": 2.0} and read[0]["prompt"][0]["content"] == "x\ud800y"
    for task in ("t", "u"):
        assert record["digests"]["tasks"][task]["samples"] == _canonical_digest([ln for ln in read if ln["task"] == task])
    assert record["digests"]["files"]["samples.jsonl"] == hashlib.sha256(raw).hexdigest()
    assert rundir.integrity(json.loads((tmp_path / "scores.json").read_text()), read, record)["edited"] == {}
