"""The bench's grid generator (clue/perf/grid.py) writes what `clue run` writes: lines a reader takes as they are
(canonical JSON, so the digests hashed while writing are those of the lines), run.json digests the report's
integrity check accepts, and scores.json figures that are the lines' own means (several seeds: the mean of each
seed's mean). The oracle is the json module and hand arithmetic over the written lines, not the generator."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from clue.perf.grid import write_grid
from clue.perf.report_scale import clinicbench_datasets
from clue.report.load import load_run


def test_the_grid_is_what_clue_run_would_have_written(tmp_path: Path) -> None:
    datasets = clinicbench_datasets(0.0)[:3]  # 20 items each
    dirs = write_grid(tmp_path, 2, datasets, (0, 3), seeds=2)
    assert [d.name.rsplit("__", 1)[1] for d in dirs] == ["0shot", "3shot", "0shot", "3shot"]
    for d in dirs:
        text = (d / "samples.jsonl").read_text(encoding="ascii")
        lines = [json.loads(x) for x in text.splitlines()]
        assert all(json.dumps(x, sort_keys=True, separators=(",", ":")) == raw for x, raw in zip(lines, text.splitlines()))
        run = load_run(d)
        assert run["integrity"] == {"recorded": True, "edited": {}, "unrecorded": []}
        scores = json.loads((d / "scores.json").read_text(encoding="utf-8"))
        seeded = d.name.endswith("3shot")
        for ds in datasets:
            mine = [x for x in lines if x["task"] == ds.name]
            assert len(mine) == ds.size * (2 if seeded else 1)
            per_seed = {}
            for seed in ({x.get("fewshot_seed") for x in mine}):
                ok = [x["scores"][ds.metric] for x in mine if x.get("fewshot_seed") == seed and x["status"] == "ok"]
                per_seed[seed] = statistics.fmean(ok)
            want = statistics.fmean(per_seed.values())
            assert abs(scores["tasks"][ds.name]["metrics"][ds.metric] - want) < 1e-9
            if seeded:
                assert {x["sample_id"].rsplit("@", 1)[1] for x in mine} == {"seed1", "seed2"}
    # a line changed after writing is caught by the digests the generator recorded
    path = dirs[0] / "samples.jsonl"
    path.write_text(path.read_text(encoding="ascii").replace('"status":"ok"', '"status":"failed"', 1), encoding="ascii")
    assert load_run(dirs[0])["integrity"]["edited"] == {datasets[0].name: ["samples.jsonl"]}


def test_the_grid_keeps_the_columns_clue_run_would_keep(tmp_path: Path, monkeypatch) -> None:
    """Above the size from which `clue run` keeps a run's columns, the grid keeps them too, and they are what
    `clue run`'s side (clue.sample_columns.keep_run, from the lines parsed by the json module) keeps of the same file."""
    import numpy as np

    from clue import sample_columns

    monkeypatch.setattr(sample_columns, "RUN_KEEPS_FROM", 1)
    datasets = clinicbench_datasets(0.0)[:3]
    for d in write_grid(tmp_path / "grid", 1, datasets, (0, 3), seeds=2):
        data = (d / "samples.jsonl").read_bytes()
        sha = json.loads((d / "run.json").read_text(encoding="utf-8"))["digests"]["files"]["samples.jsonl"]
        metrics = [ds.metric for ds in datasets] + ["absent"]
        grid_kept = sample_columns.load(d, sha, metrics)
        twin = tmp_path / "twin" / d.name
        twin.mkdir(parents=True)
        (twin / "samples.jsonl").write_bytes(data)
        sample_columns.keep_run(twin, [json.loads(x) for x in data.decode("ascii").splitlines()], data, sha)
        run_kept = sample_columns.load(twin, sha, metrics)
        assert grid_kept is not None and run_kept is not None
        assert grid_kept.tasks == run_kept.tasks and grid_kept.usage == run_kept.usage
        for name in ("task", "ok", "offsets", "ends"):
            assert np.array_equal(getattr(grid_kept, name), getattr(run_kept, name)), name
        assert grid_kept.ids.to_pylist() == run_kept.ids.to_pylist()
        for m in metrics:
            assert np.array_equal(grid_kept.metrics[m].dense(), run_kept.metrics[m].dense(), equal_nan=True), m
