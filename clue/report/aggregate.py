"""Everything the report shows, computed once as plain data; the template only formats it.

Per run: bootstrap CIs (clue.stats), verification checks (clue.verify), usage and cost — each with the
run's own benchmark, looked up once when it was loaded. Per benchmark (one `section` each, runs grouped
by clue.report.load.by_benchmark): the leaderboard next to its published models, its groups, per-task
tables and charts, its text. Across benchmarks: a summary per model. Across runs: paired comparisons
(within a benchmark), the sample browser rows (clue/report/samples.py) and the `results.csv` rows.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Sequence

from clue.benchmark import Benchmark, for_run
from clue.published import PublishedModel, task_values
from clue.ratings.report import ratings_section
from clue.report import charts, settings
from clue.report.columns import SampleLines
from clue.report.cost import cost, load_prices
from clue.report.fewshot import fewshot_rows
from clue.report.load import RunSet, by_benchmark, credentialed_tasks, metrics_read
from clue.report.pairs import comparisons
from clue.report.samples import SAMPLE_BUDGET, sample_rows, samples_per_task
from clue.report.series import series_view
from clue.report.summary import intervals
from clue.rundir import edited_titles, integrity_label, scope_of
from clue.score_rule import PLAIN, ScoreRule
from clue.stats import DEFAULT_REPLICATES, DEFAULT_SEED, Interval
from clue.verdict import rule_text
from clue.verify import DEFAULT_TOLERANCE, VERDICTS, scope_label, verify_run


@dataclass
class ReportOptions:
    redact: bool = False
    max_samples: int = 50  # per run and task, plus as many failed/wrong ones
    samples_budget: int = SAMPLE_BUDGET  # rows in the whole sample browser, at most (clue/report/samples.py)
    replicates: int = DEFAULT_REPLICATES
    seed: int = DEFAULT_SEED
    tolerance: float = DEFAULT_TOLERANCE
    prices: str | None = None  # price table file; None = the bundled one
    compare: Sequence[tuple[str, str]] = ()  # explicit run-name pairs
    published_model: str | None = None
    include_synthetic: bool = False  # rank synthetic-data runs and plot them in the scatter
    equivalence: float | None = None  # the paired comparisons' equivalence margin (clue compare); None: --margin
    accept_edited: bool = False  # report runs edited after they were written (marked), instead of refusing them
    extra: dict[str, Any] = field(default_factory=dict)


def cell(iv: Interval | None = None, *, value: float | None = None, approx: bool = False) -> dict[str, Any]:
    if iv is not None:
        return {"value": iv.value, "low": iv.low, "high": iv.high, "partial": iv.partial, "missing": list(iv.missing), "approx": approx}
    return {"value": value, "low": None, "high": None, "partial": False, "missing": [], "approx": approx}


def _marked(c: dict[str, Any], edited: set[str]) -> dict[str, Any]:
    """A cell that rests on results edited after the run (--accept-edited) says so."""
    return {**c, "edited": sorted(edited)} if edited and c["value"] is not None else c


def _task_titles(runs: Sequence[dict[str, Any]], rule: ScoreRule) -> list[str]:
    titles: list[str] = []
    for r in runs:
        for name, t in r["scores"]["tasks"].items():
            if t.get("title", name) not in titles:
                titles.append(t.get("title", name))
    return [t for t in rule.task_order if t in titles] + [t for t in titles if t not in rule.task_order]


def _run_info(i: int, run: dict[str, Any], prices: dict[str, dict[str, float]]) -> dict[str, Any]:
    """What the report shows of a run that does not follow from its CIs (`_checked` adds those)."""
    scores, record, bench = run["scores"], run["record"], run["benchmark"]
    totals = run["samples"].usage_totals()
    model = str(scores.get("model"))
    sc = scope_of(run)
    return {
        "scope": sc, "synthetic": bool(sc["synthetic"]), "subset": bool(sc["subset"]), "scope_label": scope_label(run),
        "integrity": integrity_label(run), "edited": edited_titles(run),
        "name": run["name"], "dir": run["dir"], "model": model, "protocol": scores.get("protocol"), "color": charts.color(i),
        "bench": bench, "rule": bench.score_rule if bench is not None else PLAIN,
        "scores": scores, "record": record, "usage": totals, "cost": cost(model, totals, prices),
        "cost_sent": cost(model, totals, prices, sent_only=True), "priced": model in prices,
        "samples": run["samples"],  # SampleLines; the browser reads (and redacts) only the lines it lists
    }


def _checked(info: dict[str, Any], run: dict[str, Any], opts: ReportOptions) -> None:
    """A run's CIs (kept beside the run for the next report), verdicts and matched published model, into its info."""
    bench = run["benchmark"]
    ivs = intervals(run, replicates=opts.replicates, seed=opts.seed,
                    private=bool(credentialed_tasks(run["samples"].task_names())))
    checks = verify_run(bench, run, tolerance=opts.tolerance, published_model=opts.published_model, intervals=ivs)
    pm_name = checks[0].published_model if checks else None
    published = bench.published if bench is not None else None
    info.update({"published_model": pm_name, "pm": published.models.get(pm_name) if published is not None and pm_name else None,
                 "intervals": ivs, "checks": checks, "counts": {v: sum(1 for c in checks if c.verdict == v) for v in VERDICTS}})


def _detail(m: PublishedModel | None, approximate: bool) -> str:
    if m is None:
        return ""
    if m.type == "baseline":
        return "values read from the paper's figure (approximate)" if approximate else "parameterless baseline"
    return m.hf_id or "HF id ambiguous"


def _ranked(info: dict[str, Any], opts: ReportOptions) -> bool:
    """Synthetic-data runs are not ranked among (nor plotted with) the published models unless asked."""
    return not info["synthetic"] or opts.include_synthetic


def _published_rows(bench: Benchmark | None) -> list[dict[str, Any]]:
    """One row per published model and setting: its group averages (as printed; where the source prints none but
    every member's task score is published, the rule's group score of them, marked `derived`) and task scores."""
    published, rule = (bench.published, bench.score_rule) if bench is not None else (None, PLAIN)
    if published is None:
        return []
    settings_shown = published.settings()
    names = {task.title: name for name, task in bench.tasks.items()} if bench is not None else {}
    rows = []
    for setting in settings_shown:
        for name, tasks in published.table(setting).items():
            task_scores = {t: rule.task_score(t, {k: v.value for k, v in task_values(tasks, t, names.get(t, t)).items()})
                           for t in rule.task_order}
            levels = {}
            for g in rule.groups:
                if g.id in tasks and "avg" in tasks[g.id]:
                    levels[g.id] = cell(value=tasks[g.id]["avg"].value, approx=tasks[g.id]["avg"].approximate)
                    continue
                derived = rule.group_score(g, task_scores)
                levels[g.id] = {**cell(value=derived), "derived": True} if derived is not None else cell()
            approximate = any(v.approximate for per_task in tasks.values() for v in per_task.values())
            rows.append({"name": name, "setting": setting if len(settings_shown) > 1 else "", "model": published.models.get(name),
                         "approximate": approximate, "levels": levels, "tasks": {t: cell(value=v) for t, v in task_scores.items()}})
    return rows


def _leaderboard(infos: list[dict[str, Any]], bench: Benchmark | None, opts: ReportOptions) -> list[dict[str, Any]]:
    rule = bench.score_rule if bench is not None else PLAIN
    first = rule.groups[0].id if rule.groups else None  # rows are sorted by the first group's average
    rows = []
    for info in infos:
        ivs, edited = info["intervals"], info["edited"]
        rows.append({"name": info["name"], "kind": "run", "type": "your run", "color": info["color"],
                     "ranked": _ranked(info, opts), "scope": info["scope_label"], "integrity": info["integrity"],
                     "detail": f"{info['model']} · {info['protocol']}",
                     "levels": {g.id: _marked(cell(ivs.levels.get(g.id)) if g.id in ivs.levels else cell(), edited & set(g.members))
                                for g in rule.groups},
                     "tasks": {t: _marked(cell(ivs.task_scores[t]) if t in ivs.task_scores else cell(), edited & {t})
                               for t in rule.task_order}})
    for p in _published_rows(bench):
        m = p["model"]
        detail = " · ".join(x for x in (_detail(m, p["approximate"]), p["setting"]) if x)
        rows.append({"name": p["name"], "kind": "published", "type": m.type if m else "", "color": None, "ranked": True, "scope": "",
                     "detail": detail, "levels": p["levels"], "tasks": p["tasks"]})
    rows.sort(key=lambda r: (not r["ranked"],
                             -(r["levels"][first]["value"] if first is not None and r["levels"][first]["value"] is not None else -1.0)))
    return rows


def _scatter(infos: list[dict[str, Any]], bench: Benchmark | None, opts: ReportOptions,
             grouped: dict[str, Any] | None = None) -> tuple[Any, list[str], list[tuple[int, str]]]:
    """The first two groups' averages against each other (CLUE: the paper's Level 1 vs Level 2 figure), one line per
    run that is not in it (and why: nothing drops out silently), and the key of its numbered stars (many runs). Runs
    by setting (`grouped`): coloured by setting as in the per-dataset charts, a model's runs numbered alike."""
    rule = bench.score_rule if bench is not None else PLAIN
    if len(rule.groups) < 2:
        return None, [], []
    gx, gy = rule.groups[:2]
    points = []
    left_out: list[str] = []
    for p in _published_rows(bench):
        x, y = p["levels"][gx.id]["value"], p["levels"][gy.id]["value"]
        if x is not None and y is not None:
            label = p["name"] + (f" ({p['setting']})" if p["setting"] else "")
            points.append(charts.Point(label, x, y, p["model"].type if p["model"] else "general"))
    for info in infos:
        lv = info["intervals"].levels
        if not _ranked(info, opts):
            left_out.append(f"{info['name']}: synthetic data (pass --include-synthetic to plot it)")
            continue
        missing = [g for g in (gx, gy) if g.id not in lv]
        if missing:
            titles = {n: t.get("title", n) for n, t in info["scores"]["tasks"].items()}
            lacks = [t for g in missing for t in g.members if t not in info["intervals"].task_scores]
            left_out.append(f"{info['name']}: no {' / '.join(g.title for g in missing)} average "
                            f"(lacks {', '.join(lacks) or 'task scores'}; ran {', '.join(titles.values()) or 'nothing'})")
            continue
        a, b = lv[gx.id], lv[gy.id]
        points.append(charts.Point(info["name"], a.value, b.value, "run",  # type: ignore[arg-type]
                                   (a.low, a.high) if a.low is not None else None,
                                   (b.low, b.high) if b.low is not None else None, a.partial or b.partial,
                                   series=settings.model_label(info) if grouped else "", group=info.get("setting") or ""))
    x_label, y_label = (f"{g.title} ({', '.join(g.members)})" for g in (gx, gy))
    groups = settings.setting_colors(grouped) if grouped else None
    return (charts.scatter(points, {i["name"]: i["color"] for i in infos}, x_label, y_label, groups=groups), left_out,
            charts.scatter_key(points))


def _tasks(infos: list[dict[str, Any]], titles: list[str], bench: Benchmark | None,
           grouped: dict[str, Any] | None = None, prefix: str = "") -> list[dict[str, Any]]:
    rule = bench.score_rule if bench is not None else PLAIN
    out = []
    for title in titles:
        rows, metrics = [], list(rule.task_metrics.get(title, ()))
        for info in infos:
            entry = next(((n, t) for n, t in info["scores"]["tasks"].items() if t.get("title", n) == title), None)
            if entry is None:
                continue
            name, task = entry
            metrics += [m for m in task.get("metrics", {}) if m not in metrics]
            checks = [c for c in info["checks"] if c.task == title]
            pub_values = {c.metric: c.published for c in checks if c.published is not None}  # of the run's own setting
            skipped: dict[str, list[str]] = {}
            for m, how in (task.get("skipped") or {}).items():
                skipped.setdefault(str(how), []).append(m)
            rows.append({"run": info["name"], "color": info["color"], "task_name": name, "task": task,
                         "setting": settings.setting_label(settings.shots_of(info)),
                         "skipped": list(skipped.items()), "task_model": info["model"],
                         "cells": info["intervals"].metrics.get(title, {}), "score": info["intervals"].task_scores.get(title),
                         "edited": title in info["edited"],
                         "published_model": info["published_model"], "published": pub_values, "checks": checks})
        shown = [m for m in metrics if any(m in r["cells"] or m in r["published"] for r in rows)]
        listed = rule.task_metrics.get(title, ())
        chart_metrics = [m for m in listed if m in shown] or shown[:6]
        bars = []
        for r in rows:
            values = {m: (iv.value, iv.low, iv.high) for m, iv in r["cells"].items()}
            if r["score"] is not None:
                values["score"] = (r["score"].value, r["score"].low, r["score"].high)
            bars.append(charts.Bar(r["run"], values, r["published"]))
        if grouped is not None:  # runs by model × setting: one chart per dataset, not one bar per run
            chart = settings.chart(grouped, title, rule.task_metrics)
        else:
            chart = charts.task_bars(title, chart_metrics + (["score"] if len(listed) > 1 else []), bars,
                                     {i["name"]: i["color"] for i in infos})
        out.append({"title": title, "anchor": prefix + "task-" + "".join(ch for ch in title.lower() if ch.isalnum()),
                    "metrics": shown, "rows": rows, "chart": chart, "listed": listed,
                    "extraction": any("extraction_failures" in r["task"] for r in rows)})
    return out


def _seeds(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every field of a run record whose name mentions a seed (LongHealth RNG seeds included)."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        if k in ("protocol_switches", "retry_policy"):  # shown in their own tables
            continue
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_seeds(v, path + "."))
        elif "seed" in k.lower():
            out[path] = v
    return out


def _provenance(info: dict[str, Any]) -> dict[str, Any]:
    """Run record, seeds and protocol switches; switches that differ from the benchmark's reference
    protocol (the one its published numbers were made with) are highlighted."""
    rec = info["record"]
    bench = info["bench"]
    switches = rec.get("protocol_switches") or {}
    reference = bench.protocols.get(bench.reference_protocol) if bench and bench.reference_protocol else None
    ref = reference.switches() if reference is not None else {}
    when = {k: time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(rec[k])) for k in ("started", "finished")
            if isinstance(rec.get(k), (int, float))}
    return {"record": rec, "when": when, "seeds": _seeds(rec),
            "switches": [(k, v, k not in ("name", "description") and k in ref and ref[k] != v) for k, v in switches.items()],
            "describe": {k: v for k, v in ((rec.get("engine") or {}).get("describe") or {}).items() if k != "engine"},
            "stats": rec.get("stats") or {}, "task_runs": _task_runs(rec), "fewshot": fewshot_rows(info["scores"])}


def _task_runs(rec: dict[str, Any]) -> list[tuple[str, list[str], Any]]:
    """(command, tasks, limit) per distinct invocation that wrote a task of this run directory; empty when one did."""
    groups: dict[tuple[str, str], list[str]] = {}
    for task, tr in (rec.get("task_runs") or {}).items():
        tr = tr or {}
        groups.setdefault((" ".join(tr.get("command") or []), str(tr.get("limit"))), []).append(task)
    if len(groups) < 2:
        return []
    return [(cmd, tasks, None if limit == "None" else limit) for (cmd, limit), tasks in groups.items()]


def _section(runset: RunSet, infos: list[dict[str, Any]], opts: ReportOptions, prefix: str) -> dict[str, Any]:
    """Everything the report shows about one benchmark's runs: its groups, leaderboard, charts, published table, text."""
    bench = runset.benchmark
    rule = bench.score_rule if bench is not None else PLAIN
    published = bench.published if bench is not None else None
    titles = _task_titles(runset.runs, rule)
    bench_text = dict(bench.report_text) if bench else {}
    grouped = settings.build(infos, rule, titles, bench_text, prefix)
    for info in infos:
        info["setting"] = settings.setting_label(settings.shots_of(info)) if grouped else None
    scatter, left_out, scatter_key = _scatter(infos, bench, opts, grouped)
    return {
        "name": runset.name, "title": runset.title, "prefix": prefix, "runs": infos, "titles": titles,
        "levels": [g.id for g in rule.groups], "level_titles": rule.group_titles, "task_order": rule.task_order,
        "members": {g.id: set(g.members) for g in rule.groups},
        "benchmark": bench.name if bench else None, "bench_text": bench_text, "grouped": grouped,
        "no_published": (bench_text.get("no_published") or f"No published {bench.title} numbers are bundled with this kit: "
                         "nothing here is compared with or verified against the paper.")
        if bench and (published is None or not published.values) else None,
        "leaderboard": _leaderboard(infos, bench, opts), "scatter": scatter, "scatter_left_out": left_out,
        "scatter_key": scatter_key,
        "tasks": _tasks(infos, titles, bench, grouped, prefix),
        "source_notes": dict(published.notes) if published is not None else {},
        "published_count": sum(1 for m in published.models.values() if m.type != "baseline") if published is not None else 0,
    }


def _summary(sections: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Across benchmarks, one row per model: each benchmark's group averages and how many of its tasks have a score
    (from that model's first run in the benchmark; further runs are counted). None for a one-benchmark report."""
    if len(sections) < 2:
        return None
    models: dict[str, dict[str, Any]] = {}
    for sec in sections:
        for info in sec["runs"]:
            row = models.setdefault(info["model"], {"model": info["model"], "color": info["color"], "cells": {}})
            have = row["cells"].get(sec["name"])
            if have is not None:
                have["more"] += 1
                continue
            ivs, edited = info["intervals"], info["edited"]
            row["cells"][sec["name"]] = {"run": info["name"], "setting": settings.setting_label(settings.shots_of(info)),
                                         "scope": info["scope_label"], "more": 0,
                                         "levels": {g: _marked(cell(ivs.levels.get(g)) if g in ivs.levels else cell(), edited & sec["members"][g])
                                                    for g in sec["levels"]},
                                         "scored": len(ivs.task_scores), "tasks": len(info["scores"]["tasks"])}
    return {"sections": [{"name": s["name"], "title": s["title"], "prefix": s["prefix"], "levels": s["levels"],
                          "level_titles": s["level_titles"]} for s in sections], "rows": list(models.values())}


def build_view(runs: list[dict[str, Any]], opts: ReportOptions) -> dict[str, Any]:
    """The whole report as data (see the module docstring): one section per benchmark, a summary across them."""
    prices = load_prices(opts.prices)
    for r in runs:
        if "benchmark" not in r:  # runs not read by load_run: their benchmark, looked up once here
            r["benchmark"] = for_run(r["scores"])
        if not isinstance(r["samples"], SampleLines):  # lines built in memory: read column-wise as load_run does
            r["samples"] = SampleLines.of(r["samples"], metrics_read(r["scores"], r["benchmark"]))
    infos = [_run_info(i, r, prices) for i, r in enumerate(runs)]
    # the sample browser's rows need no CI: read in a thread while this one mostly waits on bootstrap draws (GIL-free)
    with ThreadPoolExecutor(1, thread_name_prefix="clue-samples") as pool:
        rows = pool.submit(sample_rows, infos, opts.max_samples, redact=opts.redact, budget=opts.samples_budget)
        for info, r in zip(infos, runs):
            _checked(info, r, opts)
        samples, samples_chosen = rows.result()
    for info in infos:
        info["provenance"] = _provenance(info)
    runsets = by_benchmark(runs)
    by_name = {i["name"]: i for i in infos}
    several = len(runsets) > 1
    sections = [_section(rs, [by_name[r["name"]] for r in rs.runs], opts, f"{rs.name}-" if several else "") for rs in runsets]
    redacted_tasks = sorted(credentialed_tasks({t for r in runs for t in r["samples"].task_names()})) if opts.redact else []
    return {
        "runs": infos, "sections": sections, "summary": _summary(sections),
        "titles": list(dict.fromkeys(t for sec in sections for t in sec["titles"])),  # the sample browser's task filter
        "synthetic_runs": [i["name"] for i in infos if i["synthetic"]], "subset_runs": [i["name"] for i in infos if i["subset"]],
        "rule": rule_text(opts.tolerance),
        "comparisons": comparisons(infos, runs, opts), "series": series_view(infos), "samples": samples, "opts": opts,
        "samples_per_task": samples_per_task(infos, opts.max_samples, opts.samples_budget), "samples_chosen": samples_chosen,
        "redacted_tasks": redacted_tasks, "verdicts": VERDICTS,
        "ratings": ratings_section(runs, replicates=opts.replicates, seed=opts.seed),
    }


def results_rows(view: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per run × task × metric (task scores as metric `score`, group averages as the group's id, metric `avg`)."""
    rows = []
    for info in view["runs"]:
        ivs = info["intervals"]
        for c in info["checks"]:
            iv = ivs.metrics.get(c.task, {}).get(c.metric) if c.metric not in ("score", "avg") else \
                (ivs.task_scores.get(c.task) if c.metric == "score" else ivs.levels.get(c.task))
            rows.append({"run": c.run, "benchmark": info["bench"].name if info["bench"] is not None else info["scores"].get("benchmark"),
                         "model": c.model, "protocol": c.protocol, "setting": c.setting, "task": c.task, "metric": c.metric,
                         "value": c.reproduced, "ci_low": c.low, "ci_high": c.high, "n": iv.n if iv else None,
                         "partial": bool(iv and iv.partial), "published_model": c.published_model, "published": c.published,
                         "published_source": c.source, "delta": c.delta, "verdict": c.verdict, "direction": c.direction,
                         "note": c.note, "edited": c.edited})
    return rows
