"""`clue compare` (issue 26): runs made against fake servers, judged equivalent / different / inconclusive.

Expected values are worked out by hand from how the servers were scripted: an oracle answers every
MedNLI item right; the flipping server answers every item whose id is a multiple of 10 wrong — 20 of
the 200 evaluated items (ids 3..202), so accuracy 90 against 100: A − B = −10 points exactly, and
McNemar's exact p = 2 · 0.5^20. The 20-item run flips 2 of 20 (ids 10, 20): −10 points, but a bootstrap
replicate draws none of the two flipped items with probability 0.9^20 ≈ 0.12 > 2.5 %, so the CI reaches
0 (inconclusive); its lower end is −5·K for K the 97.5th percentile of Binomial(20, 0.1) ∈ {4, 5}, so
the half-width h ∈ [10, 12.5], t = |−10| (beyond the ±3 margin), and n·(h/t)² ∈ [20, 31.25]: 21..32 items.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from clue.data.lock import mark_bundled
from tests.conftest import run_clue
from tests.core.test_cli_errors import assert_one_line_error
from tests.fakeserver import FakeServer, _chat_text

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
LABELS = ("entailment", "neutral", "contradiction")


def mednli_data(root: Path, n: int) -> tuple[Path, dict[str, str]]:
    """n invented MedNLI items (the first 3 are CLUE's shots) and the map prompt key → gold label."""
    records = [{"sentence1": f"Invented patient number {i} was admitted with complaint code {i}.",
                "sentence2": f"Invented statement {i} about that patient.", "gold_label": LABELS[i % 3]} for i in range(n)]
    target = root / "data" / "mednli"
    target.mkdir(parents=True)
    (target / "mli_test_v1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    mark_bundled(root / "data", "invented test items")
    keys = {f"SENTENCE_1: {r['sentence1']}\nSENTENCE_2: {r['sentence2']}": str(i) for i, r in enumerate(records)}
    return root / "data", keys


class Responder:
    """Answers the gold label of the last item in the prompt; items whose id is in `wrong` get another label."""

    def __init__(self, keys: dict[str, str], wrong: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        self.keys, self.wrong = keys, wrong

    def __call__(self, kind: str, payload) -> str:
        text = _chat_text(payload) if kind == "chat" else str(payload)
        key = max((k for k in self.keys if k in text), key=text.rfind)
        i = int(self.keys[key])
        return LABELS[(i + 1) % 3] if i in self.wrong else LABELS[i % 3]


def make_run(tmp_path: Path, data: Path, responder: Responder, name: str) -> Path:
    from tests.core.test_oracle_runs import tokenizer_file

    with FakeServer(responder=responder, model_id=MODEL) as srv:
        proc = run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL, "--tasks", "mednli",
                        "--data-dir", str(data), "--tokenizer", str(tokenizer_file(tmp_path / "tok.json")),
                        "--max-position-embeddings", "4096", "--out", str(tmp_path / name),
                        "--store", str(tmp_path / f"{name}.sqlite"), "--no-progress")
        assert proc.returncode == 0, proc.stderr
    return tmp_path / name


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    data, keys = mednli_data(tmp, 203)
    flipped = {i for i in range(3, 203) if i % 10 == 0}
    assert len(flipped) == 20
    small, small_keys = mednli_data(tmp / "small", 23)
    return {"ref": make_run(tmp, data, Responder(keys), "ref"),
            "same": make_run(tmp, data, Responder(keys), "same"),
            "flip": make_run(tmp, data, Responder(keys, flipped), "flip"),
            "small_ref": make_run(tmp, small, Responder(small_keys), "small_ref"),
            "small_flip": make_run(tmp, small, Responder(small_keys, {10, 20}), "small_flip")}


def compare(a: Path, b: Path, tmp_path: Path, *extra: str) -> tuple[object, dict]:
    out = tmp_path / "cmp.json"
    proc = run_clue("compare", str(a), str(b), "--json", str(out), *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc, json.loads(out.read_text()) if out.exists() else {}


def only_row(result: dict) -> dict:
    (row,) = result["rows"]
    assert row["task"] == "MedNLI" and row["metric"] == "accuracy" and row["level"] == "task"
    return row


def test_identical_answers_are_equivalent(runs, tmp_path):
    proc, result = compare(runs["ref"], runs["same"], tmp_path, "--equivalence", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = only_row(result)
    assert (row["n"], row["a"], row["b"], row["diff"], row["low"], row["high"]) == (200, 100.0, 100.0, 0.0, 0.0, 0.0)
    assert row["outcome"] == result["outcome"] == "equivalent"
    assert "endpoint" in [d["field"] for d in result["differs"]]  # two servers: two endpoints, said so
    assert "Comparison rule" in proc.stdout and "overall: equivalent (exit 0)" in proc.stdout


def test_ten_percent_flipped_is_different_by_minus_ten_points(runs, tmp_path):
    proc, result = compare(runs["flip"], runs["ref"], tmp_path, "--equivalence", "2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    row = only_row(result)
    assert (row["n"], row["a"], row["b"]) == (200, 90.0, 100.0)
    assert row["diff"] == pytest.approx(-10.0)
    assert row["outcome"] == "different" and row["direction"] == "lower"
    assert row["high"] < 0 and row["low"] < -10 < row["high"]
    assert row["p_value"] == pytest.approx(2 * 0.5 ** 20)  # exact McNemar: 20 discordant pairs, all one way
    assert "different (A lower by 10.00 points)" in proc.stdout
    assert proc.stderr.strip() == "clue: compare: different (exit 1)"
    proc, reverse = compare(runs["ref"], runs["flip"], tmp_path)
    assert proc.returncode == 1 and only_row(reverse)["diff"] == pytest.approx(10.0) and only_row(reverse)["direction"] == "higher"


def test_twenty_items_are_inconclusive_with_a_sample_size(runs, tmp_path):
    proc, result = compare(runs["small_flip"], runs["small_ref"], tmp_path)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    row = only_row(result)
    assert (row["n"], row["diff"]) == (20, pytest.approx(-10.0))
    assert row["outcome"] == "inconclusive" and row["high"] == pytest.approx(0.0)
    assert -25.0 <= row["low"] <= -20.0
    assert 21 <= row["items_needed"] <= 32
    assert f"~{row['items_needed']} items needed" in proc.stdout


def test_a_different_benchmark_is_refused_in_one_line(runs, tmp_path):
    other = tmp_path / "cb"
    proc = run_clue("run", "--benchmark", "clinicbench", "--engine", "baseline", "--synthetic", "--tasks", "medqa",
                    "--out", str(other), "--store", str(tmp_path / "cb.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = run_clue("compare", str(runs["ref"]), str(other))
    assert proc.returncode == 2
    assert_one_line_error(proc, "ref is a run of CLUE", "cb of ClinicBench")


def test_runs_without_shared_items_are_refused_in_one_line(runs, tmp_path):
    other = tmp_path / "meqsum"
    proc = run_clue("run", "--engine", "baseline", "--synthetic", "--tasks", "meqsum", "--out", str(other),
                    "--store", str(tmp_path / "m.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = run_clue("compare", str(runs["ref"]), str(other))
    assert proc.returncode == 2
    assert_one_line_error(proc, "share no scored item")


# --- groups and few-shot pairing, on runs written by hand -------------------------------------------------------------

def hand_run(name: str, lines: list[tuple[str, str, float]], tasks: dict[str, str]) -> dict:
    samples = [{"task": t, "sample_id": i, "status": "ok", "scores": {"accuracy": v}} for t, i, v in lines]
    return {"name": name, "samples": samples,
            "scores": {"tasks": {t: {"title": title, "metrics": {"accuracy": 1.0}} for t, title in tasks.items()}}}


def hand_bench():
    from clue.score_rule import Group, ScoreRule

    rule = ScoreRule(task_metrics={"T1": ("accuracy",), "T2": ("accuracy",)}, groups=(Group("G", "Both", ("T1", "T2")),),
                     binary_metrics=frozenset({"accuracy"}))
    return SimpleNamespace(name="hand", score_rule=rule, tasks={})


def test_group_difference_is_the_mean_of_its_tasks_differences():
    from clue.compare import compare as judge

    tasks = {"t1": "T1", "t2": "T2"}
    ids = [str(i) for i in range(100)]
    a = hand_run("A", [("t1", i, 100.0) for i in ids] + [("t2", i, 100.0 if int(i) % 2 else 0.0) for i in ids], tasks)
    b = hand_run("B", [("t1", i, 0.0 if int(i) < 30 else 100.0) for i in ids] +
                 [("t2", i, 100.0 if int(i) % 2 else 0.0) for i in ids], tasks)
    result = judge(hand_bench(), a, b, margin=5.0)
    rows = {(r.task, r.level): r for r in result.rows}
    assert rows[("T1", "task")].diff == pytest.approx(30.0) and rows[("T1", "task")].outcome == "different"
    assert rows[("T2", "task")].diff == 0.0 and rows[("T2", "task")].outcome == "equivalent"
    group = rows[("G", "group")]
    assert (group.a, group.b, group.diff) == (pytest.approx(75.0), pytest.approx(60.0), pytest.approx(15.0))  # (30 + 0) / 2
    assert group.outcome == "different" and result.outcome == "different" and result.exit_status == 1


def test_few_shot_seeds_pair_with_zero_shot_items_by_item_id():
    from clue.compare import compare as judge

    ids = [str(i) for i in range(40)]
    k_shot = hand_run("k", [("t1", f"{i}@seed{s}", 100.0 if s == 0 else 0.0) for i in ids for s in (0, 1)], {"t1": "T1"})
    zero = hand_run("z", [("t1", i, 50.0) for i in ids], {"t1": "T1"})  # not 0/100: bootstrap, not McNemar
    (row,) = judge(hand_bench(), k_shot, zero, margin=1.0).rows
    assert (row.n, row.a, row.b, row.diff) == (40, 50.0, 50.0, 0.0)  # each item once, the mean of its two seeds
    assert row.outcome == "equivalent" and row.test == "paired bootstrap"


def test_data_files_that_differ_are_named(runs, tmp_path):
    proc, result = compare(runs["small_ref"], runs["ref"], tmp_path)  # two invented files; ids 3..22 in both
    fields = [d["field"] for d in result["differs"]]
    assert "data files" in fields and "mednli/mli_test_v1.jsonl" in result["differs"][fields.index("data files")]["a"]


def test_report_draws_the_forest_plot_with_the_band(runs, tmp_path):
    from tests.core.test_report_charts import clipped_texts, text_spans

    proc = run_clue("report", str(runs["flip"]), str(runs["ref"]), "--equivalence", "2", "--out", str(tmp_path / "rep"))
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "rep" / "index.html").read_text()
    section = html[html.index('<section id="compare">'):]
    section = section[:section.index("</section>")]
    assert "Same within ± 2 points?</b> <span class=\"v-deviates\">different</span>" in section
    assert "different (A lower)" in section and "Comparison rule" in section
    svg = section[section.index("<svg"):section.index("</svg>") + 6]
    assert clipped_texts(svg) == [] and "MedNLI" in svg and "± 2 pp" in svg
    texts = [t for t, _, _ in text_spans(svg)]
    assert "−10 pp" in texts and "+10 pp" in texts  # symmetric around 0, in percentage points


def test_forest_labels_are_not_cut():
    from clue.compare import Row
    from clue.report.forest import forest
    from tests.core.test_report_charts import clipped_texts

    rows = [Row("task", f"A very long task title number {i} that goes on", "score", 100, 100, 50.0, 50.0 - i, i, i - 2.0, i + 2.0,
                0.5, "paired bootstrap", "inconclusive", None, 300) for i in range(-3, 9)]
    svg = str(forest(rows, 3.0, [r.task for r in rows], "t"))
    assert clipped_texts(svg) == [] and svg.count("A very long task title") == len(rows)
    assert forest(rows[:1], 3.0, ["x"], "t") and not forest([Row("task", "T", "score", 1, 1, 0, 0, 0, None, None, None, "", "inconclusive",
                                                                   None, None)], 3.0, ["T"])


def test_zero_shot_and_three_shot_of_one_model_pair_by_item(tmp_path):
    """ClinicBench's synthetic MedQA (10 items): 3-shot under two seeds (20 lines) against zero-shot (10 lines)."""
    common = ["--benchmark", "clinicbench", "--engine", "baseline", "--synthetic", "--tasks", "medqa",
              "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
    assert run_clue("run", *common, "--shots", "3", "--fewshot-seed", "0,1", "--out", str(tmp_path / "k3")).returncode == 0
    assert run_clue("run", *common, "--out", str(tmp_path / "k0")).returncode == 0
    lines = (tmp_path / "k3" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 20
    proc, result = compare(tmp_path / "k3", tmp_path / "k0", tmp_path)
    assert proc.returncode == 4  # 10 items: fewer than 20, always inconclusive
    (row,) = result["rows"]
    assert row["n"] == 10 and row["outcome"] == "inconclusive" and row["items_needed"] >= 20
    shots = {d["field"]: d for d in result["differs"]}["shots"]
    assert "3-shot" in shots["a"] and "0-shot" in shots["b"]


def test_metric_rows_match_the_reports_paired_table(runs):
    """The report shows both: clue compare's per-metric CI is the paired table's (stats.compare_runs) to the digit."""
    from clue.compare import compare as judge
    from clue.report.load import load_runs
    from clue.stats import compare_runs

    a, b = load_runs([runs["flip"], runs["small_ref"]])  # ids 3..22 in both files: 20 pairs, 2 of them flipped
    (p,) = compare_runs(a["benchmark"], a["scores"], a["samples"], b["scores"], b["samples"])
    (row,) = judge(a["benchmark"], a, b).rows
    assert (row.n, row.diff, row.low, row.high) == (p.n, pytest.approx(p.diff), pytest.approx(p.low), pytest.approx(p.high))
    assert p.n == 20 and row.diff == pytest.approx(-10.0)
    assert judge(a["benchmark"], a, b).unpaired == (("MedNLI", 180, 0),)  # 200 items against 20: 180 left out, and said


def test_two_engines_on_one_model_are_equivalent(runs, tmp_path):
    """Across providers: the same answers through TGI's native route and an OpenAI-compatible one are the same model."""
    from tests.conftest import chat_template_file

    data = Path(json.loads((runs["ref"] / "run.json").read_text())["data_dir"])
    keys = mednli_data(tmp_path / "again", 203)[1]
    with FakeServer(responder=Responder(keys), model_id=MODEL) as srv:
        proc = run_clue("run", "--engine", "tgi", "--endpoint", srv.url, "--model", MODEL, "--tasks", "mednli",
                        "--data-dir", str(data), "--chat-template", str(chat_template_file(tmp_path)),
                        "--max-position-embeddings", "4096", "--out", str(tmp_path / "tgi"),
                        "--store", str(tmp_path / "tgi.sqlite"), "--no-progress")
        assert proc.returncode == 0, proc.stderr
    proc, result = compare(tmp_path / "tgi", runs["ref"], tmp_path, "--equivalence", "1")
    assert proc.returncode == 0, proc.stdout
    assert only_row(result)["outcome"] == "equivalent" and {"engine", "endpoint"} <= {d["field"] for d in result["differs"]}


def test_without_a_task_score_the_primary_metric_decides_not_every_metric():
    """A task whose rule lists rougeL, rouge1 and BERTScore, compared where BERTScore was not computed (no task score):
    rougeL (the first listed) decides; rouge1 30 points apart is shown as different but does not make the overall
    outcome different — three correlated metrics each deciding alone would raise false alarms (seen on a real
    llama.cpp pair: Q4_1 vs Q8_0 'different' on 30 items, 'inconclusive' on 80)."""
    from clue.compare import compare as judge
    from clue.score_rule import ScoreRule

    rule = ScoreRule(task_metrics={"S": ("rougeL", "rouge1", "bertscore_f1")}, groups=())
    bench = SimpleNamespace(name="hand", score_rule=rule, tasks={})
    ids = [str(i) for i in range(60)]

    def run(name: str, shift: float) -> dict:
        samples = [{"task": "s", "sample_id": i, "status": "ok",
                    "scores": {"rougeL": 40.0 + int(i) % 7, "rouge1": 30.0 + int(i) % 5 + shift}} for i in ids]
        return {"name": name, "samples": samples,
                "scores": {"tasks": {"s": {"title": "S", "metrics": {"rougeL": 1.0, "rouge1": 1.0}}}}}

    result = judge(bench, run("A", 30.0), run("B", 0.0), margin=3.0)
    rows = {r.metric: r for r in result.rows}
    assert rows["rougeL"].level == "task" and rows["rougeL"].diff == 0.0 and rows["rougeL"].outcome == "equivalent"
    assert rows["rouge1"].level == "metric" and rows["rouge1"].diff == pytest.approx(30.0)
    assert rows["rouge1"].outcome == "different"
    assert result.outcome == "equivalent" and result.exit_status == 0
