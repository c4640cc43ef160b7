"""Regenerate this folder's frozen inputs and expected outputs (not a test; run by hand).

The inputs (inputs.tar.gz): the two `clue demo` runs, a small ClinicBench-shaped grid (clue.perf.report_scale at
main f8c0400: 4 models × 16 datasets × 0/3-shot) and one run of odd shapes (chat-message prompts, failed requests,
a metric missing on some items, an unlisted metric, several few-shot seeds) and three CLUE runs at, below and near a
published model's numbers (verdicts reproduced / deviates / inconclusive). The expected outputs (expected.json.gz)
were made by the report's read side as it was at main f8c0400 (every sample a Python dict), before the
columnar read side replaced it: tests/core/test_report_equivalence.py checks the new one gives the same.

    PYTHONPATH=. python tests/core/report_equivalence/freeze.py /tmp/grid-demo/runs
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
REPORTS = {"demo": ["demo", "demo-clinicbench", "odd", "good", "bad", "few"], "grid": None}  # None: every grid run


def make_inputs(demo_runs: Path, root: Path) -> None:
    from clue.perf.report_scale import clinicbench_datasets, model_names, write_runs
    from tests.core.test_report_fixtures import published_like_run, sample, write_run

    for name in ("demo", "demo-clinicbench"):
        (root / name).mkdir(parents=True)
        for f in ("scores.json", "run.json", "samples.jsonl"):
            shutil.copy(demo_runs / name / f, root / name / f)
    write_runs(root / "grid", model_names(4), clinicbench_datasets(0.002), (0, 3), prompt_words=6, failed_rate=0.05)
    odd = []
    for i in range(30):
        msgs = [{"role": "system", "content": "SYNTHETIC system"}, {"role": "user", "content": f"SYNTHETIC question {i}"}]
        status = "failed" if i % 11 == 5 else "ok"
        scores: dict[str, Any] = {"rouge1": float(i % 7) * 10.0, "rougeL": (i * 37 % 100) / 3.0, "extra_metric": 1.0}
        if i % 4:
            scores["rouge2"] = float(i % 5) * 9.5
        odd.append(sample("meqsum", f"SYNTHETIC-{i}", scores, status=status, prompt=msgs, usage={"prompt_tokens": 10 + i, "completion_tokens": 3}))
    for seed in (1, 2, 3):
        for i in range(12):
            line = sample("mednli", f"SYNTHETIC-n{i}@seed{seed}", {"accuracy": 100.0 if (i + seed) % 3 else 0.0}, cached=bool(i % 2))
            line["fewshot_seed"] = seed
            odd.append(line)
    for q in range(6):
        for t in (1, 2, 3):
            odd.append(sample("longhealth", f"SYNTHETIC-p{q}/q{q % 2}/t{t}/r0", {f"task{t}_acc": 100.0 * ((q + t) % 2)}))
    write_run(root / "odd", "SYNTHETIC/odd-model", odd)
    published_like_run(root / "good", "Meta-Llama-3-8B-Instruct")  # reproduced
    published_like_run(root / "bad", "Meta-Llama-3-8B-Instruct", shift=-8.0)  # deviates
    published_like_run(root / "few", "Mistral-7B-Instruct-v0.2", n=3, shift=1.0)  # too few items: inconclusive
    lines = [json.loads(ln) for ln in (root / "odd" / "samples.jsonl").read_text(encoding="utf-8").splitlines()]
    for i, line in enumerate(lines[:30]):
        if i % 8 == 0 and line["status"] == "ok":
            line["scores"]["rouge2"] = None  # present but null, beside items that lack it
    (root / "odd" / "samples.jsonl").write_text("".join(json.dumps(ln) + "\n" for ln in lines), encoding="utf-8")


def run_dirs(root: Path, which: str) -> list[Path]:
    names = REPORTS[which]
    if names is None:
        return sorted((root / "grid").iterdir())
    return [root / n for n in names]


def outputs(root: Path, which: str, **options: Any) -> dict[str, Any]:
    """What the report shows of `which`'s runs, as plain data: results.csv, every interval, comparisons, the sample
    browser's rows, usage; built through the report's public pieces (load_runs, build_view, results_rows)."""
    from clue.report import results_csv
    from clue.report.aggregate import ReportOptions, build_view, results_rows
    from clue.report.load import load_runs

    runs = load_runs(run_dirs(root, which))
    view = build_view(runs, ReportOptions(**options))
    per_run = {}
    for info in view["runs"]:
        ivs = info["intervals"]
        per_run[info["name"]] = {
            "metrics": {t: {m: iv.as_dict() for m, iv in ms.items()} for t, ms in ivs.metrics.items()},
            "task_scores": {t: iv.as_dict() for t, iv in ivs.task_scores.items()},
            "levels": {g: iv.as_dict() for g, iv in ivs.levels.items()},
            "counts": info["counts"], "usage": info["usage"], "shown": {t: list(v) for t, v in info.get("shown", {}).items()},
            "checks": [c.as_dict() for c in info["checks"]],
        }
    comparisons = [{"a": c["a"], "b": c["b"], "results": [dataclasses.asdict(p) for p in c["results"]]} for c in view["comparisons"]]
    samples = [[row["run"], row["task"], row["id"], row["pos"], row["status"], row["wrong"], row_digest(row)] for row in view["samples"]]
    return {"runs": per_run, "comparisons": comparisons, "samples": samples, "samples_per_task": view["samples_per_task"],
            "results_csv": results_csv(results_rows(view))}


def row_digest(row: dict[str, Any]) -> str:
    """sha256 of a sample browser row (texts clipped as shown, scores, status …) as canonical JSON."""
    import hashlib

    return hashlib.sha256(json.dumps(row, sort_keys=True, default=list).encode("utf-8")).hexdigest()[:20]


def unpack(dest: Path) -> Path:
    with tarfile.open(HERE / "inputs.tar.gz") as tar:
        tar.extractall(dest, filter="data")
    return dest / "inputs"


def main(demo_runs: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "inputs"
        make_inputs(Path(demo_runs), root)
        with tarfile.open(HERE / "inputs.tar.gz", "w:gz") as tar:
            tar.add(root, arcname="inputs")
    with tempfile.TemporaryDirectory() as tmp:
        root = unpack(Path(tmp))
        expected = {which: outputs(root, which) for which in REPORTS}
        expected["demo-redacted"] = outputs(root, "demo", redact=True, replicates=200, seed=7)
    (HERE / "expected.json.gz").write_bytes(gzip.compress((json.dumps(expected, sort_keys=True, default=str) + "\n").encode("utf-8"), mtime=0))


if __name__ == "__main__":
    main(sys.argv[1])
