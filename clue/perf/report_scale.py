"""The ≈ 1 M-sample report figure: fake ClinicBench-shaped run directories, a report over them.

`write_runs(root, models, datasets, settings)` writes one run directory per model × setting (0-shot
and k-shot) in the layout `clue run` produces, with the contract of ClinicBench runs: scores.json
carries `"benchmark"`, `"shots"` and per task `extraction_failures` next to n / n_failed / metrics.
Dataset names, scenarios and Table 1 sizes come from clue.benchmarks.clinicbench.datasets; all text
is invented (ids SYNTHETIC-…). When no `clinicbench` benchmark is installed yet, `stand_in()`
registers one built from that table (3 scenario groups, no published numbers) so the report sees
the benchmark's groups; the figures are the same either way.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from clue.perf.serving import WORDS

BENCHMARK = "clinicbench"
SCENARIOS = ("reasoning", "generation", "understanding")


@dataclass(frozen=True)
class FakeDataset:
    name: str
    title: str
    scenario: str
    size: int
    metric: str  # the per-item metric name written into samples.jsonl
    binary: bool  # 0/100 per item (accuracy-like) vs continuous (ROUGE-L, F1)


def clinicbench_datasets(scale: float = 1.0) -> list[FakeDataset]:
    """The runnable ClinicBench datasets with their Table 1 sizes (× `scale`, at least 20 items)."""
    from clue.benchmarks.clinicbench.datasets import DATASETS

    out = []
    for d in DATASETS:
        if d.answer is None:  # Referral QA: not released
            continue
        metric = d.answer.metrics[0]
        binary = metric == "accuracy"
        out.append(FakeDataset(d.name, d.title, d.scenario, max(20, int(d.size * scale)), metric, binary))
    return out


@dataclass
class _Rule:
    """A scoring rule of the ClinicBench shape: task score = its one metric, group = mean of its datasets."""

    TASK_METRICS: Mapping[str, tuple[str, ...]]
    LEVELS: Mapping[str, tuple[str, ...]]
    LEVEL_TITLES: Mapping[str, str]
    TASK_ORDER: tuple[str, ...]
    BINARY_METRICS: frozenset[str] = field(default_factory=lambda: frozenset({"accuracy"}))

    def task_score(self, title: str, metrics: Mapping[str, float | None]) -> float | None:
        listed = self.TASK_METRICS.get(title, ())
        vals = [metrics.get(m) for m in listed]
        return None if not listed or any(v is None for v in vals) else sum(vals) / len(vals)  # type: ignore[arg-type,misc]

    def partial_task_score(self, title: str, metrics: Mapping[str, float | None]) -> tuple[float | None, tuple[str, ...]]:
        return self.task_score(title, metrics), ()

    def level_score(self, level: str, task_scores: Mapping[str, float | None]) -> float | None:
        vals = [task_scores.get(t) for t in self.LEVELS.get(level, ())]
        return None if not vals or any(v is None for v in vals) else sum(vals) / len(vals)  # type: ignore[arg-type,misc]


def rule_for(datasets: Sequence[FakeDataset]) -> _Rule:
    return _Rule(TASK_METRICS={d.title: (d.metric,) for d in datasets},
                 LEVELS={s: tuple(d.title for d in datasets if d.scenario == s) for s in SCENARIOS},
                 LEVEL_TITLES={s: s.capitalize() for s in SCENARIOS}, TASK_ORDER=tuple(d.title for d in datasets))


def stand_in(datasets: Sequence[FakeDataset], name: str = BENCHMARK) -> Any:
    """The installed benchmark `name` when there is one; else a registered stand-in of its shape (returned)."""
    from clue.benchmark import Benchmark, benchmarks, register_benchmark
    from clue.tasks.base import Task

    if name in benchmarks():
        return benchmarks()[name]
    tasks = {d.name: type(f"StandIn_{d.name}", (Task,), {"name": d.name, "title": d.title, "credentialed": False,  # never run:
                                                          "metrics": (d.metric,)})() for d in datasets}  # the report reads names only
    return register_benchmark(Benchmark(
        name=name, title="ClinicBench (stand-in)", tasks=tasks, protocols={}, default_protocol="", scoring=rule_for(datasets),
        report_text={"groups": "Scenario = mean of its datasets' scores.",
                     "groups_title": "Scenarios", "scatter_title": "Reasoning vs Generation",
                     "scatter_lead": "Scenario averages of each run (★, with 95 % CIs); no published models to plot."}))


def _texts(rng: random.Random, words: int, k: int = 64) -> list[str]:
    return ["SYNTHETIC " + " ".join(rng.choice(WORDS) for _ in range(words)) for _ in range(k)]


def write_runs(root: Path, models: Sequence[str], datasets: Sequence[FakeDataset], settings: Sequence[int] = (0, 3),
               *, seed: int = 17, benchmark: str = BENCHMARK, prompt_words: int = 80, failed_rate: float = 0.002,
               extraction_rate: float = 0.02) -> list[Path]:
    """One run directory per model × setting; returns them. Scores drift with the model and setting so the
    report has something to show; in every 8th run a few requests fail (`failed_rate`), in every run a few
    answers are extraction failures (`extraction_rate`, scored 0)."""
    rng = random.Random(seed)
    prompts, outputs, refs = _texts(rng, prompt_words), _texts(rng, 25), _texts(rng, 20)
    dirs = []
    for mi, model in enumerate(models):
        for si, shots in enumerate(settings):
            # failed requests (after retries) in a few runs only, as in practice; extraction failures in every run
            fail_p = failed_rate if (mi * len(settings) + si) % 8 == 0 else 0.0
            lines: list[str] = []
            tasks: dict[str, Any] = {}
            skill = 0.35 + 0.4 * mi / max(1, len(models) - 1) + (0.05 if shots else 0.0)
            for d in datasets:
                sums, n_ok, n_failed, n_extract = 0.0, 0, 0, 0
                for i in range(d.size):
                    failed = rng.random() < fail_p
                    unextracted = not failed and rng.random() < extraction_rate
                    if failed:
                        value = None
                    elif unextracted:
                        value = 0.0
                    elif d.binary:
                        value = 100.0 if rng.random() < skill else 0.0
                    else:
                        value = round(min(100.0, max(0.0, rng.gauss(100 * skill * 0.7, 15))), 3)
                    out = None if failed else ("Sure! Here is my reasoning, but no final answer." if unextracted else rng.choice(outputs))
                    row = {"task": d.name, "sample_id": f"SYNTHETIC-{d.name}-{i}", "request_key": f"{mi:02d}{shots}{d.name}{i}",
                           "prompt": rng.choice(prompts), "raw_output": out, "output": out, "reference": rng.choice(refs),
                           "scores": {} if failed else {d.metric: value}, "status": "failed" if failed else "ok",
                           "error": "SYNTHETIC HTTP 503 (after 6 attempts)" if failed else None, "attempts": 1, "cached": False,
                           "latency_s": 0.1, "usage": {"prompt_tokens": 120, "completion_tokens": 30}, "finish_reason": "stop"}
                    if unextracted:
                        row["extraction_failed"] = True
                    lines.append(json.dumps(row))
                    if value is not None:
                        sums += value
                        n_ok += 1
                    n_failed += failed
                    n_extract += unextracted
                tasks[d.name] = {"title": d.title, "metrics": {d.metric: sums / n_ok if n_ok else None}, "skipped": {},
                                 "n": d.size, "n_scored": n_ok, "n_failed": n_failed, "extraction_failures": n_extract,
                                 "n_shots": shots}
            run = root / f"{model.replace('/', '--')}__{shots}shot"
            run.mkdir(parents=True)
            protocol = "clinicbench"
            (run / "scores.json").write_text(json.dumps({"benchmark": benchmark, "model": model, "protocol": protocol,
                                                         "shots": shots, "tasks": tasks}), encoding="utf-8")
            (run / "samples.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
            (run / "run.json").write_text(json.dumps({
                "kit_version": "0.1.0", "benchmark": benchmark, "model": model, "protocol": protocol, "shots": shots,
                "command": ["clue", "run", "--benchmark", benchmark, "--shots", str(shots)],
                "engine": {"kind": "vllm", "endpoint": "http://127.0.0.1:1", "describe": {}}, "started": 1.7e9, "finished": 1.7e9 + 60,
                "tasks": [d.name for d in datasets], "stats": {"requests": len(lines)}}), encoding="utf-8")
            dirs.append(run)
    return dirs


def model_names(n: int) -> list[str]:
    """`n` model ids: the ClinicBench roster's where it names them, SYNTHETIC ones after."""
    names: list[str] = []
    try:
        import yaml  # the roster is YAML; PyYAML comes with the kit's dependencies

        from clue.benchmarks.clinicbench import __file__ as pkg

        roster = yaml.safe_load((Path(pkg).parent / "roster.yaml").read_text(encoding="utf-8")) or {}
        entries = roster.get("models", roster) if isinstance(roster, dict) else roster
        for e in entries if isinstance(entries, list) else []:
            if isinstance(e, dict) and e.get("name"):
                names.append(str(e["name"]))
    except (ImportError, OSError, ValueError):
        pass
    names = names[:n]
    return names + [f"SYNTHETIC/model-{i}" for i in range(n - len(names))]


def measure(tmp: Path, n_models: int, shots: Sequence[int], scale: float) -> dict[str, Any]:
    """Write the runs, build the report (wall and CPU seconds, peak RSS), open it in headless Chromium."""
    import resource
    import time

    from clue.perf.reporting import first_paint
    from clue.report import build_report

    datasets = clinicbench_datasets(scale)
    t0 = time.perf_counter()
    dirs = write_runs(tmp / "runs", model_names(n_models), datasets, shots)
    made = time.perf_counter() - t0
    stand_in(datasets)
    cpu0, t0 = time.process_time(), time.perf_counter()
    html = build_report(dirs, tmp / "report")
    out: dict[str, Any] = {"build_s": time.perf_counter() - t0, "build_cpu_s": time.process_time() - cpu0,
                           "html_bytes": html.stat().st_size, "runs": len(dirs), "datasets": len(datasets),
                           "samples": sum(d.size for d in datasets) * len(dirs), "fixtures_s": made,
                           "samples_bytes": sum((d / "samples.jsonl").stat().st_size for d in dirs),
                           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    out.update(first_paint(html, tmp))
    return out
