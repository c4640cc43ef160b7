"""Issue 12: verdicts and results a reviewer can trust.

Verdicts (tiny synthetic run → inconclusive, run equal to the published numbers → reproduced, shifted →
deviates, --limit never reproduced); run directories that accumulate tasks; the response cache keyed by
the endpoint where the model name does not pin the weights, and --refresh; the store file's mode.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from clue.verify import exit_status
from tests.conftest import run_clue
from tests.core.test_report_fixtures import published_like_run, verified
from tests.fakeserver import FakeServer, constant_responder

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"


def judged(checks):
    return [c for c in checks if c.verdict not in ("no reference", "not computed")]


def baseline_run(tmp_path: Path, out: str, *extra: str, store: str = "s.sqlite"):
    return run_clue("run", "--engine", "baseline", "--synthetic", "--out", str(tmp_path / out), "--store",
                    str(tmp_path / store), "--no-progress", *extra)


def test_tiny_synthetic_run_is_inconclusive_and_labelled(tmp_path):
    proc = baseline_run(tmp_path, "demo", "--tasks", "mednli,meqsum")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads((tmp_path / "demo" / "scores.json").read_text())
    assert scores["synthetic"] is True
    checks = verified(tmp_path / "demo", replicates=100, published_model="Meta-Llama-3-8B-Instruct")
    assert judged(checks) and {c.verdict for c in judged(checks)} == {"inconclusive"}
    assert all("synthetic" in c.note for c in judged(checks))
    proc = run_clue("verify", str(tmp_path / "demo"), "--published-model", "Meta-Llama-3-8B-Instruct", "--bootstrap", "100")
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "SYNTHETIC DATA" in proc.stdout and "Verdict rule:" in proc.stdout and "reproduced" in proc.stdout
    assert proc.stdout.count(" reproduced  ") == 0  # no row says reproduced


def test_full_run_equal_to_published_is_reproduced_exit_0(tmp_path):
    run = published_like_run(tmp_path / "full", "Meta-Llama-3-8B-Instruct", n=30)
    checks = verified(run, replicates=200)
    assert judged(checks) and all(c.verdict == "reproduced" for c in judged(checks))
    assert exit_status(checks) == 0
    proc = run_clue("verify", str(run), "--bootstrap", "100")
    assert proc.returncode == 0 and "0 deviates" in proc.stdout, proc.stdout + proc.stderr


def test_systematically_shifted_run_deviates_exit_1(tmp_path):
    run = published_like_run(tmp_path / "shifted", "Meta-Llama-3-8B-Instruct", n=30, shift=-8.0)
    checks = verified(run, replicates=200)
    assert {c.verdict for c in judged(checks)} == {"deviates"} and {c.direction for c in judged(checks)} == {"lower"}
    assert exit_status(checks) == 1


def test_a_limit_run_is_never_reproduced(tmp_path):
    run = published_like_run(tmp_path / "limited", "Meta-Llama-3-8B-Instruct", n=30)
    doc = json.loads((run / "scores.json").read_text())
    doc["limit"] = 30
    for task in doc["tasks"].values():
        task.update(limit=30, n_available=500)
    (run / "scores.json").write_text(json.dumps(doc))
    checks = verified(run, replicates=100)
    assert judged(checks) and "reproduced" not in {c.verdict for c in judged(checks)}
    assert all("subset" in c.note for c in judged(checks))
    assert exit_status(checks) == 4
    # a run of an older kit version: --limit only in run.json
    doc = {k: v for k, v in doc.items() if k != "limit"}
    for task in doc["tasks"].values():
        task.pop("limit"), task.pop("n_available")
    (run / "scores.json").write_text(json.dumps(doc))
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "limit": 30}))
    assert "reproduced" not in {c.verdict for c in judged(verified(run, replicates=100))}


def test_separate_task_runs_into_one_out_accumulate(tmp_path):
    assert baseline_run(tmp_path, "run", "--tasks", "meqsum").returncode == 0
    (tmp_path / "run" / "plan.json").write_text("{}")  # as an earlier --dry-run left it
    (tmp_path / "run" / "requests.jsonl").write_text("")
    proc = baseline_run(tmp_path, "run", "--tasks", "mednli", "--limit", "2")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert set(doc["tasks"]) == {"meqsum", "mednli"}
    assert doc["tasks"]["mednli"]["limit"] == 2 and doc["tasks"]["meqsum"]["limit"] is None and doc["limit"] == "per task"
    lines = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {ln["task"] for ln in lines} == {"meqsum", "mednli"} and sum(ln["task"] == "mednli" for ln in lines) == 2
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert set(record["task_runs"]) == {"meqsum", "mednli"} and record["task_runs"]["mednli"]["limit"] == 2
    assert not (tmp_path / "run" / "plan.json").exists() and not (tmp_path / "run" / "requests.jsonl").exists()
    # the same task again replaces its own results only
    assert baseline_run(tmp_path, "run", "--tasks", "mednli").returncode == 0
    doc = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert set(doc["tasks"]) == {"meqsum", "mednli"} and doc["tasks"]["mednli"]["limit"] is None
    # another protocol would mix incomparable numbers: refused with one line, nothing written
    before = (tmp_path / "run" / "scores.json").read_text()
    proc = baseline_run(tmp_path, "run", "--tasks", "mednli", "--protocol", "corrected")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--out" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "run" / "scores.json").read_text() == before


def _openai_run(srv: FakeServer, tmp_path: Path, *extra: str):
    return run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL, "--tasks", "meqsum",
                    "--synthetic", "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress",
                    *extra, env={"OPENAI_API_KEY": "k"})


def test_two_endpoints_with_one_model_name_each_asked_and_refresh_replaces(tmp_path):
    with FakeServer(responder=constant_responder("first server"), model_id=MODEL, tgi=False) as one:
        assert _openai_run(one, tmp_path).returncode == 0
        asked_one = one.stats.completed
    assert asked_one > 0
    with FakeServer(responder=constant_responder("second server"), model_id=MODEL, tgi=False) as two:
        proc = _openai_run(two, tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert two.stats.completed == asked_one  # not replayed from the first server's answers
        lines = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
        assert {ln["raw_output"] for ln in lines} == {"second server"}
        two.reset_stats()
        assert _openai_run(two, tmp_path).returncode == 0 and two.stats.completed == 0  # same server: resumes from the store
        two.responder = constant_responder("second server, re-asked")
        assert _openai_run(two, tmp_path, "--refresh").returncode == 0 and two.stats.completed == asked_one
    lines = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert {ln["raw_output"] for ln in lines} == {"second server, re-asked"}


def test_tgi_keys_are_unchanged_so_existing_stores_resume():
    """TGI's key is model_id + sha as before: a restarted container on another port still resumes."""
    from clue.types import Endpoint, GenParams, Request

    r = Request(task="t", sample_id="1", params=GenParams(max_new_tokens=5), protocol="p",
                endpoint=Endpoint("tgi", "m", "abc"), prompt="x")
    from clue.types import canonical_json, sha256

    old = {"engine": "tgi", "model": "m", "revision": "abc", "prompt": "x", "messages": None,
           "params": {"max_new_tokens": 5, "stop": [], "temperature": None, "seed": None, "truncate": None}, "protocol": "p"}
    assert r.key == sha256(canonical_json(old))  # the key stores written before this change hold
    other = Request(task="t", sample_id="1", params=GenParams(max_new_tokens=5), protocol="p",
                    endpoint=Endpoint("openai", "m", None, "http://a/v1#m"), prompt="x")
    assert other.key != Request(task="t", sample_id="1", params=GenParams(max_new_tokens=5), protocol="p",
                                endpoint=Endpoint("openai", "m", None, "http://b/v1#m"), prompt="x").key


def test_store_file_is_owner_only(tmp_path):
    from clue.store import Store

    path = tmp_path / "store.sqlite"
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)  # written by an older version
    store = Store(path)
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if extra.exists():
            assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0


@pytest.mark.parametrize("engine", ["baseline"])
def test_a_run_store_is_owner_only(tmp_path, engine):
    assert baseline_run(tmp_path, "run", "--tasks", "mednli").returncode == 0
    assert stat.S_IMODE((tmp_path / "s.sqlite").stat().st_mode) == 0o600


def _view(tmp_path: Path, *runs: Path, **opts):
    from clue.report.aggregate import ReportOptions, build_view
    from clue.report.load import load_runs

    return build_view(load_runs(list(runs)), ReportOptions(replicates=50, **opts))


def test_report_keeps_synthetic_runs_apart_and_labelled(tmp_path):
    from clue.report import render_html

    assert baseline_run(tmp_path, "demo").returncode == 0
    real = published_like_run(tmp_path / "llama3", "Meta-Llama-3-8B-Instruct", n=20)
    view = _view(tmp_path, tmp_path / "demo", real)
    rows = {r["name"]: r for r in view["sections"][0]["leaderboard"]}
    assert rows["demo"]["ranked"] is False and "SYNTHETIC" in rows["demo"]["scope"] and rows["llama3"]["ranked"]
    ranked = [r["name"] for r in view["sections"][0]["leaderboard"] if r["ranked"]]
    assert "demo" not in ranked and view["sections"][0]["leaderboard"][-1]["name"] == "demo"  # listed after every ranked row
    assert any(line.startswith("demo: synthetic") for line in view["sections"][0]["scatter_left_out"])
    html = render_html(view)
    assert "synthetic-banner" in html and "Not ranked" in html and "Verdict rule:" in html
    assert 'class="badge synthetic"' in html
    # asked for: ranked and plotted
    view = _view(tmp_path, tmp_path / "demo", real, include_synthetic=True)
    section = view["sections"][0]
    assert all(r["ranked"] for r in section["leaderboard"]) and not any(x.startswith("demo") for x in section["scatter_left_out"])


def test_report_names_runs_missing_from_the_figure_and_derives_published_levels(tmp_path):
    assert baseline_run(tmp_path, "meqsum-only", "--tasks", "meqsum").returncode == 0
    view = _view(tmp_path, tmp_path / "meqsum-only", include_synthetic=True)
    assert any(x.startswith("meqsum-only: no Level 1 / Level 2") or x.startswith("meqsum-only: no ") for x in view["sections"][0]["scatter_left_out"])
    mixtral = next(r for r in view["sections"][0]["leaderboard"] if r["name"] == "Mixtral-8x7B-v0.1")
    lv1 = mixtral["levels"]["Level1"]
    tasks = [mixtral["tasks"][t]["value"] for t in ("MedNLI", "MeQSum", "ProblemSummary")]
    assert lv1.get("derived") and lv1["value"] == pytest.approx(sum(tasks) / 3)


def test_report_provenance_in_words_and_samples_worst_first(tmp_path):
    from clue.report import render_html

    assert baseline_run(tmp_path, "demo", "--tasks", "mednli,meqsum").returncode == 0
    view = _view(tmp_path, tmp_path / "demo", include_synthetic=True)
    html = render_html(view)
    prov = html[html.index('id="provenance"'):]
    prov = prov[: prov.index("full run record")]
    for raw in (">None<", ">[]<", ">{}<", "\\n", ">True<", ">False<", '{"'):
        assert raw not in prov, raw
    for task in ("mednli", "meqsum"):
        rows = [s for s in view["samples"] if s["task"] == task]
        title = rows[0]["title"]

        from clue.report.samples import badness as _badness

        metrics = view["runs"][0]["rule"].task_metrics  # worst by the task's primary metric
        keys = [_badness(title, {"status": s["status"], "scores": s["scores"]}, metrics) for s in rows]
        assert keys == sorted(keys) and len(rows) > 1


def test_a_baseline_run_is_matched_to_the_published_baseline(tmp_path):
    assert baseline_run(tmp_path, "base").returncode == 0
    checks = verified(tmp_path / "base", replicates=50)
    assert checks[0].published_model == "Parameterless baseline"
    level = next(c for c in checks if c.task == "Level1")
    assert level.published is not None


def test_charts_number_crowded_runs_and_rotate_long_metric_names():
    from clue.report import charts

    points = [charts.Point(f"a-rather-long-run-name-{i}", 40 + i * 0.3, 30 + i * 0.2, "run", (39.0, 41.0 + i), None) for i in range(5)]
    points.append(charts.Point("published one", 40.5, 30.5, "general"))
    svg = str(charts.scatter(points, {}))
    assert charts.scatter_key(points) == [(i + 1, f"a-rather-long-run-name-{i}") for i in range(5)]  # names in the key beneath
    assert "a-rather-long-run-name-0" not in svg and all(f">{k}</text>" in svg for k in range(1, 6))  # numbers at the stars
    few = str(charts.scatter(points[:2] + points[-1:], {}))
    assert "1 a-rather-long-run-name-0" not in few and "a-rather-long-run-name-0" in few
    metrics = ["bertscore_precision", "bertscore_recall", "icd_exact_match_f1", "icd_approx_f1", "valid_codes", "rouge_lsum"]
    bars = [charts.Bar(f"r{i}", {m: (50.0, 40.0, 60.0) for m in metrics}, {}) for i in range(3)]
    assert "rotate(-30" in str(charts.task_bars("T", metrics, bars, {}))
    assert "rotate(-30" not in str(charts.task_bars("T", ["rougeL", "rouge1"], bars, {}))
