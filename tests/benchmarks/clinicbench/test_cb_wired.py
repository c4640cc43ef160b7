"""ClinicBench through the benchmark level, end to end: `clue run --benchmark clinicbench` against the loopback
fake server (oracle answers → 100 on every metric; realistic free-text answers → figures worked out from the gold
answers by hand, and extraction-failure counts), base-mode zero-shot prompts, few-shot runs, the baseline engine, `clue tasks`,
`clue verify` ("no reference") and the few-shot guarantee (no evaluated item is ever its own exemplar)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue import cli
from clue.benchmark import get_benchmark
from clue.benchmarks.clinicbench import synthetic
from clue.benchmarks.clinicbench.datasets import DATASETS
from clue.benchmarks.clinicbench.tasks import TASKS
from clue.tasks import BuildContext
from clue.types import Endpoint
from tests.conftest import run_clue
from tests.fakeserver import FakeServer, OracleResponder

MODEL = "some-org/some-instruct-model"
RUNNABLE = [d.name for d in DATASETS if d.runnable]
CREDENTIALED = {"mimic-cxr", "hospitalization-summarization", "patient-education"}
PUBLIC = [n for n in RUNNABLE if n not in CREDENTIALED]
BENCH = get_benchmark("clinicbench")
PROTOCOL = BENCH.protocols["clinicbench"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.materialize(tmp_path_factory.mktemp("cb-data"))


def _splits(data_dir: Path, shots: int = 0, protocol=PROTOCOL) -> dict:
    return {name: TASKS[name].prepare(data_dir, protocol, shots) for name in RUNNABLE}


def _oracle(data_dir: Path, shots: int = 0) -> OracleResponder:
    """User prompt of each evaluated item → its gold answer as an exemplar writes it (answer.j2)."""
    mapping = {}
    for name, split in _splits(data_dir, shots).items():
        task = TASKS[name]
        for s in split.evaluated:
            mapping[task.render("user", s.fields)] = task.render("answer", s.fields)
    return OracleResponder(mapping)


def _realistic(name: str, sample, first: bool) -> str:
    """A chatty but correct answer; the first item of every dataset gets an answer with nothing to extract."""
    task = TASKS[name]
    if first:
        return "" if task.answer_kind.free_text else "I am sorry, I cannot help with that."
    f, ref = sample.fields, sample.reference
    if task.kind == "option_letter":
        return f"Let me think step by step.\n\nThe correct answer is {ref}: {f['options'][ref]}."
    if task.kind == "closed_label":
        return f"Based on the evidence provided, the answer is {ref}."
    if task.answer_kind.free_text:
        return "Sure! Here is the summary: " + str(ref)
    preamble = {"label_set": "Sure! Here are the categories:\n", "entity_list": "Sure! Here are the recognized entities:\n\n",
                "iob_tags": "Sure, here is the IOB output:\n\n", "drug_list": "Analysis: the content lists the usual treatments.\n"}
    return preamble[task.kind] + task.render("answer", f)


def _expected(name: str, samples: list, outs: list[str]) -> dict[str, float]:
    """The figures of `_realistic`'s answers, worked out by hand: every answer but the first reads as the gold answer,
    the first is unreadable (wrong; no positive prediction; no entity; an empty summary)."""
    task = TASKS[name]
    gold = [s.reference for s in samples]
    n = len(gold)
    if task.metrics == ("accuracy",):
        return {"accuracy": 100.0 * (n - 1) / n}
    if name in ("ddi", "gad"):  # positive-class F1: P = 1 (no false positive); R = found positives / all positives
        positive = [g not in task.answer_kind.negative for g in gold]
        r = sum(positive[1:]) / sum(positive)
        return {"f1": 100.0 * 2 * r / (1 + r), "precision": 100.0, "recall": 100.0 * r}
    if name in ("hoc", "treatment-recommendation"):  # per-item figures 1 except the failed first item's 0
        return {m: 100.0 * (n - 1) / n for m in task.metrics}
    if name in ("bc5-disease", "ncbi-disease"):  # the first sentence's entities and entity tokens are missed
        ents = [sum(t.startswith("B-") for t in g) for g in gold]
        toks = [sum(t != "O" for t in g) for g in gold]
        r, tr = sum(ents[1:]) / sum(ents), sum(toks[1:]) / sum(toks)
        return {"f1": 100.0 * 2 * r / (1 + r), "precision": 100.0, "recall": 100.0 * r, "token_f1": 100.0 * 2 * tr / (1 + tr)}
    from rouge_score import rouge_scorer  # generation: the reference implementation on the same pairs

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    rows = [scorer.score(str(g), o.strip()) if o.strip() else None for g, o in zip(gold, outs)]
    return {m: 100.0 * sum(r[m].fmeasure for r in rows if r) / n for m in ("rougeL", "rouge1", "rouge2")}


def _run(tmp_path: Path, srv: FakeServer, *extra: str, out: str = "run") -> dict:
    proc = run_clue("run", "--benchmark", "clinicbench", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL,
                    "--tasks", "all", "--data-dir", str(extra_data(tmp_path)), "--out", str(tmp_path / out),
                    "--store", str(tmp_path / "s.sqlite"), "--no-progress", *extra)
    assert proc.returncode == 0, proc.stderr
    return json.loads((tmp_path / out / "scores.json").read_text())


def extra_data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def run_dir_data(tmp_path: Path) -> Path:
    return synthetic.materialize(tmp_path / "data")


def test_oracle_answers_score_100_on_every_metric_of_all_16_tasks(tmp_path: Path, run_dir_data: Path) -> None:
    with FakeServer(responder=_oracle(run_dir_data), model_id=MODEL) as srv:
        scores = _run(tmp_path, srv)
    assert scores["benchmark"] == "clinicbench" and scores["shots"] == 0 and set(scores["tasks"]) == set(RUNNABLE)
    for name, t in scores["tasks"].items():
        assert t["n"] > 0 and t["n_failed"] == 0 and t["extraction_failures"] == 0, name
        assert set(t["metrics"]) == set(TASKS[name].metrics), name
        assert all(v == pytest.approx(100.0) for v in t["metrics"].values()), (name, t["metrics"])
        assert t["credentialed"] == (name in CREDENTIALED)  # the three MIMIC-derived ones ran on synthetic stand-ins
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert all(ln["extraction_failure"] is None and ln["extraction_failed"] is False for ln in lines)


def test_realistic_answers_score_as_worked_out_by_hand(tmp_path: Path, run_dir_data: Path) -> None:
    splits = _splits(run_dir_data)
    mapping: dict[str, str] = {}
    for name, split in splits.items():  # the first item of every dataset gets an answer with nothing to extract
        for i, s in enumerate(split.evaluated):
            text = TASKS[name].render("user", s.fields)
            if i == 0 or text not in mapping:  # the synthetic radiology reports repeat (IU-Xray's two are MIMIC-CXR's)
                mapping[text] = _realistic(name, s, i == 0)
    expected = {name: _expected(name, split.evaluated, [mapping[TASKS[name].render("user", s.fields)] for s in split.evaluated])
                for name, split in splits.items()}
    with FakeServer(responder=OracleResponder(mapping), model_id=MODEL) as srv:
        scores = _run(tmp_path, srv)
    for name, t in scores["tasks"].items():
        assert t["extraction_failures"] >= 1, name  # counted, never silently scored
        assert t["metrics"] == {m: pytest.approx(v) for m, v in expected[name].items()}, (name, t["metrics"], expected[name])
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    failed = [ln for ln in lines if ln["extraction_failed"]]
    assert all(ln["extraction_failure"] for ln in failed)  # with its reason
    assert len(failed) == sum(t["extraction_failures"] for t in scores["tasks"].values())
    assert {ln["task"] for ln in failed} == set(RUNNABLE)
    assert any("no option letter" in ln["extraction_failure"] for ln in failed)
    from clue.report.load import load_run
    from clue.stats import run_intervals

    ivs = run_intervals(BENCH, scores, load_run(tmp_path / "run")["samples"], replicates=200)
    for name in ("ddi", "gad", "hoc", "bc5-disease", "ncbi-disease"):  # corpus figures: bootstrap recomputes them
        t = scores["tasks"][name]
        for metric in TASKS[name].metrics:
            iv = ivs.metrics[t["title"]][metric]
            assert iv.n == t["n"] and iv.low is not None and iv.low - 1e-9 <= iv.value <= iv.high + 1e-9, (name, metric, iv)


def test_few_shot_run_records_its_exemplars_and_still_scores_100(tmp_path: Path, run_dir_data: Path) -> None:
    with FakeServer(responder=_oracle(run_dir_data, 3), model_id=MODEL) as srv:
        scores = _run(tmp_path, srv, "--shots", "3")
    assert scores["shots"] == 3
    for name, t in scores["tasks"].items():
        assert t["n_shots"] == 3 and all(v == pytest.approx(100.0) for v in t["metrics"].values()), name
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    lines = [json.loads(ln) for ln in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    for name in RUNNABLE:
        build = record["task_build"][name]
        assert build["shots"] == 3 and build["seeds"] == [0] and build["pool_size"] >= 3, name
        assert scores["tasks"][name]["fewshot"]["pool"] == build["pool"] and scores["tasks"][name]["n"] == build["scored_items"]
        mine = [ln for ln in lines if ln["task"] == name]
        if name in ("gad", "hoc", "ddi", "iu-xray"):  # their train split ships with the bundled data: one shared draw
            assert len(build["exemplar_ids"]) == 3 and all("exemplar_ids" not in ln for ln in mine), name
        else:  # leave-one-out: each line names its own exemplars, never itself
            assert all(len(ln["exemplar_ids"]) == 3 and ln["sample_id"] not in ln["exemplar_ids"] for ln in mine), name
    assert all(len(ln["prompt"]) == 7 for ln in lines)  # 3 × (user, assistant) + the item; no system turn


def test_a_zero_shot_run_refuses_to_mix_with_a_few_shot_run_dir(tmp_path: Path, run_dir_data: Path) -> None:
    out = tmp_path / "run"
    base = ["run", "--benchmark", "clinicbench", "--engine", "baseline", "--tasks", "pubmedqa", "--data-dir", str(run_dir_data),
            "--out", str(out), "--store", str(tmp_path / "s.sqlite"), "--no-progress"]
    assert cli.main(base) == 0
    assert cli.main([*base, "--shots", "1"]) != 0


def test_base_mode_models_get_zero_shot_plain_prompts(tmp_path: Path, run_dir_data: Path) -> None:
    with FakeServer(responder=_oracle(run_dir_data), model_id=MODEL) as srv:
        proc = run_clue("run", "--benchmark", "clinicbench", "--engine", "tgi", "--endpoint", srv.url, "--model", MODEL,
                        "--mode", "base", "--tasks", "medqa,gad,iu-xray", "--data-dir", str(run_dir_data),
                        "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress")
        assert proc.returncode == 0, proc.stderr
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert all(v == pytest.approx(100.0) for t in scores["tasks"].values() for v in t["metrics"].values())
    line = json.loads((tmp_path / "run" / "samples.jsonl").read_text().splitlines()[0])
    assert line["prompt"].startswith("The following are multiple-choice questions") and line["prompt"].endswith("\n\n")


@pytest.mark.parametrize("name", RUNNABLE)
@pytest.mark.parametrize("k", [1, 3, 5])
def test_no_evaluated_item_is_ever_its_own_exemplar(name: str, k: int, data_dir: Path) -> None:
    from clue.benchmarks.clinicbench import loaders

    task = TASKS[name]
    zero = task.prepare(data_dir, PROTOCOL, 0)
    assert [s.id for s in zero.evaluated] == [it.id for it in loaders.load(name, data_dir).items]  # every test item
    scored, pool, _ = task._load(data_dir)  # noqa: SLF001
    texts = [task.render("user", s.fields) for s in [*scored, *pool]]
    repeated = {t for t in texts if texts.count(t) > 1}  # distinct items with the same text (the data's own duplicates)
    for seed in (0, 1, 7):
        split = task.prepare(data_dir, PROTOCOL, k, seeds=(seed,))
        assert [s.id for s in split.evaluated] == [s.id for s in zero.evaluated]  # zero- and few-shot score the same items
        for s in split.evaluated:
            own = [x.id for x in split.shots_for(s.id)]
            assert len(own) == k and len(set(own)) == k and s.id not in own, (seed, s.id, own)
        if pool:
            assert split.how["exemplar_ids"] == [s.id for s in split.shots] and split.how["pool"] == "train/dev"
        else:
            assert split.how["pool"].startswith("leave-one-out") and split.how["pool_size"] == len(scored) - 1
        ctx = BuildContext(endpoint=Endpoint("openai", MODEL), profile=PROTOCOL, mode="instruct-system", send="messages")
        requests = task.build(split, ctx)
        for req, sample in zip(requests, split.evaluated):
            query = task.render("user", sample.fields)
            shots = [m["content"] for m in req.messages[:-1] if m["role"] == "user"]
            assert req.messages[-1]["content"] == query and len(shots) == k
            assert query not in shots or query in repeated


def test_baseline_engine_runs_every_runnable_dataset(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", "--benchmark", "clinicbench", "--engine", "baseline", "--data-dir", str(data_dir), "--out", str(out),
                     "--store", str(tmp_path / "s.sqlite"), "--no-progress"]) == 0
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["tasks"]) == set(RUNNABLE)
    from collections import Counter

    for name, t in scores["tasks"].items():  # every floor answer is readable; what each floor scores, by hand
        assert t["extraction_failures"] == 0, name
        task = TASKS[name]
        if task.metrics == ("accuracy",):  # the majority label: its share of the scored items
            golds = [s.reference for s in _splits(data_dir)[name].evaluated]
            assert t["metrics"]["accuracy"] == pytest.approx(100.0 * max(Counter(golds).values()) / len(golds)), name
        elif name in ("bc5-disease", "ncbi-disease"):  # no entities predicted: nothing found
            assert t["metrics"] == {"f1": 0.0, "precision": 0.0, "recall": 0.0, "token_f1": 0.0}, name
        else:
            assert 0.0 <= t["metrics"][task.metrics[0]] < 100.0, (name, t["metrics"])
    record = json.loads((out / "run.json").read_text())
    assert record["task_build"]["medqa"]["data"] == "public sample" and record["task_build"]["gad"]["data"] == "synthetic"


def test_tasks_lists_17_datasets_with_access_and_referral_qa_unavailable(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tasks", "--benchmark", "clinicbench"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 17
    assert [r.split()[0] for r in rows if "unavailable" in r] == ["referral-qa"]
    assert {r.split()[0] for r in rows if "credentialed" in r} == CREDENTIALED
    assert "referral-qa" not in BENCH.tasks and len(BENCH.tasks) == 16


def test_commands_without_benchmark_still_mean_clue(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tasks"]) == 0
    assert "mednli" in capsys.readouterr().out


@pytest.mark.parametrize("model", [None, "meta-llama/Llama-2-7b-chat-hf"])  # unknown model; a roster model (no numbers)
def test_verify_says_no_reference(model, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    args = ["--model", model] if model else []
    assert cli.main(["run", "--benchmark", "clinicbench", "--engine", "baseline", "--tasks", "pubmedqa,gad", "--data-dir",
                     str(data_dir), "--out", str(out), "--store", str(tmp_path / "s.sqlite"), "--no-progress", *args]) == 0
    capsys.readouterr()
    code = cli.main(["verify", str(out), "--all", "--json", str(tmp_path / "v.json")])
    assert capsys.readouterr().out == "clue: verify: run: no published ClinicBench numbers are bundled with this kit; nothing to verify\n"
    assert json.loads((tmp_path / "v.json").read_text()) == []  # issue 22: one line, not an empty table
    from clue.verdict import EXIT_INCONCLUSIVE

    assert code == EXIT_INCONCLUSIVE  # nothing judged, so nothing is shown reproduced: the verdict rules' exit 4


def test_data_sources_cover_every_runnable_dataset() -> None:
    assert {f.task for f in BENCH.data} == set(RUNNABLE)
    for f in BENCH.data:
        if f.task in CREDENTIALED:
            assert f.fetcher is None and f.credentialed  # never downloaded by the kit
    assert next(f for f in BENCH.data if f.dest == "pubmedqa/ori_pqal.json").sha256.startswith("8b3276be")


def test_demo_runs_clinicbench_beside_clue_each_with_its_own_report(tmp_path: Path) -> None:
    proc = run_clue("demo", "--out", str(tmp_path / "runs" / "demo"), "--report", str(tmp_path / "report"))
    assert proc.returncode == 0, proc.stderr
    clue_scores = json.loads((tmp_path / "runs" / "demo" / "scores.json").read_text())
    cb = tmp_path / "runs" / "demo-clinicbench"
    cb_scores = json.loads((cb / "scores.json").read_text())
    assert clue_scores["benchmark"] == "clue" and cb_scores["benchmark"] == "clinicbench" and cb_scores["synthetic"] is True
    assert set(cb_scores["tasks"]) == set(RUNNABLE)
    build = json.loads((cb / "run.json").read_text())["task_build"]
    assert {name: build[name]["data"] for name in RUNNABLE} == {name: kind for name, (kind, _) in synthetic.SOURCE.items()}
    rows = (tmp_path / "report" / "results.csv").read_text().splitlines()
    assert any(",clue," in r for r in rows) and not any(",clinicbench," in r for r in rows)
    cb_rows = (tmp_path / "report" / "clinicbench" / "results.csv").read_text().splitlines()
    assert any(",clinicbench," in r for r in cb_rows) and not any(",clue," in r for r in cb_rows)
    html = (tmp_path / "report" / "clinicbench" / "index.html").read_text()
    assert "No published numbers." in html  # the banner, from the benchmark's empty published table


RELEASED = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "clinicbench" / "released"


def test_data_fetch_downloads_a_released_file_and_checks_its_sha256(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`clue data fetch --benchmark clinicbench drug-interaction` from a loopback stand-in of raw.githubusercontent.com."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    src = RELEASED / "Drug-Interaction-for-Emerging-Drugs.csv"
    if not src.is_file():
        pytest.skip("released ClinicBench fixtures not present")
    url = next(f for f in BENCH.data if f.task == "drug-interaction").fetcher.url
    served = tmp_path / "www" / url.split("raw.githubusercontent.com/", 1)[1]
    served.parent.mkdir(parents=True)
    served.write_bytes(src.read_bytes())

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(tmp_path / "www")))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("CLUE_GITHUB_RAW_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
        data = tmp_path / "data"
        assert cli.main(["data", "fetch", "--benchmark", "clinicbench", "drug-interaction", "--data-dir", str(data)]) == 0
        assert (data / "drug-interaction" / "Drug-Interaction-for-Emerging-Drugs.csv").read_bytes() == src.read_bytes()
        served.write_bytes(src.read_bytes() + b"tampered\n")
        assert cli.main(["data", "fetch", "--benchmark", "clinicbench", "drug-interaction", "--data-dir", str(data), "--force"]) != 0
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_data_status_sees_a_report_directory_and_names_manual_sources(tmp_path: Path) -> None:
    from clue.data.status import status

    synthetic.materialize(tmp_path, ["mimic-cxr"])
    rows = {r.dest: r for r in status(tmp_path, benchmark="clinicbench")}
    assert rows["mimic-cxr/reports/"].state == "present"
    assert rows["medqa/phrases_no_exclude_test.jsonl"].state == "missing"
    how = rows["medqa/phrases_no_exclude_test.jsonl"].how
    assert "clue data fetch medqa" in how and "<data-dir>" not in how
    assert rows["medqa/phrases_no_exclude_train.jsonl"].role == "train"  # the few-shot pool's file is listed too
    hosp = rows["hospitalization-summarization/Hospitalization-Summarization.json"].how
    assert hosp.startswith(f"to place by hand: {(tmp_path / 'hospitalization-summarization').resolve()}")


def test_groups_are_the_three_scenarios_of_the_runnable_datasets() -> None:
    rule = BENCH.score_rule
    assert {g.id: len(g.members) for g in rule.groups} == {"reasoning": 5, "generation": 4, "understanding": 7}
    assert set(rule.task_order) == {t.title for t in TASKS.values()}
    scores = {t: 50.0 for t in rule.group("generation").members}
    assert rule.group_score("generation", scores) == 50.0 and rule.group_score("reasoning", scores) is None
    assert rule.task_score("GAD", {"f1": 70.0, "precision": 1.0}) == 70.0 and rule.task_score("GAD", {}) is None
    assert "no published ClinicBench numbers are bundled" in BENCH.report_text["header"]
