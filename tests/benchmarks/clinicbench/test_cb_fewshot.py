"""ClinicBench's few-shot protocol through `clue run`: every test item scored in every setting (Table 1 sizes on the
released files), `--fewshot-seed` (one draw; several draws → mean ± sd), byte-identical requests for one seed,
resume of a several-seed run, `clue tasks` saying where exemplars come from, and `--shots` refused on CLUE.

Released files come from ../shared/data/clinicbench/released (skipped when absent), copied into a tmp data dir as
`<data-dir>/<dataset>/<file name>` — the layout the loaders read.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path

import pytest

from clue import cli
from tests import conftest
from tests.fakeserver import FakeServer, constant_responder

MODEL = "some-org/some-instruct-model"


def _released(tmp_path: Path, dataset: str, name: str) -> Path:
    src = conftest.SHARED / "data" / "clinicbench" / "released" / name
    if not src.is_file():
        pytest.skip(f"released ClinicBench file {src} not present")
    data = tmp_path / "data"
    (data / dataset).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, data / dataset / name)
    return data


def _run(tmp_path: Path, data: Path, srv: FakeServer | None, tasks: str, *extra: str, out: str = "run") -> dict:
    engine = ["--engine", "openai", "--endpoint", srv.url + "/v1", "--model", MODEL] if srv else ["--engine", "baseline"]
    code = cli.main(["run", "--benchmark", "clinicbench", *engine, "--tasks", tasks, "--data-dir", str(data),
                     "--out", str(tmp_path / out), "--store", str(tmp_path / "s.sqlite"), "--no-progress", *extra])
    assert code == 0
    return json.loads((tmp_path / out / "scores.json").read_text()) if "--dry-run" not in extra else {}


def _lines(tmp_path: Path, out: str = "run") -> list[dict]:
    return [json.loads(ln) for ln in (tmp_path / out / "samples.jsonl").read_text().splitlines()]


def _copy_first_exemplar(kind: str, payload) -> str:
    """A model that repeats its first exemplar's answer: its score depends on the draw."""
    answers = [m["content"] for m in payload if m.get("role") == "assistant"]
    return answers[0] if answers else "B"


def test_the_released_file_holds_135_b_answers_of_213() -> None:
    """The hand check behind the next test, read with pandas alone (not the kit's loader)."""
    import pandas as pd

    src = conftest.SHARED / "data" / "clinicbench" / "released" / "Pharmacology-QA.xlsx"
    if not src.is_file():
        pytest.skip("released ClinicBench file not present")
    answers = pd.read_excel(src, sheet_name="selected", dtype=str)["answer"].str.strip()
    assert len(answers) == 213 and (answers == "B").sum() == 135


@pytest.mark.parametrize("shots", ["0", "3"])
def test_a_constant_b_model_scores_135_of_213_on_pharmacology_qa_in_every_setting(tmp_path: Path, shots: str) -> None:
    data = _released(tmp_path, "pharmacology-qa", "Pharmacology-QA.xlsx")
    with FakeServer(responder=constant_responder("The answer is B."), model_id=MODEL) as srv:
        scores = _run(tmp_path, data, srv, "pharmacology-qa", "--shots", shots)
    t = scores["tasks"]["pharmacology-qa"]
    assert t["n"] == t["n_scored"] == t["n_available"] == 213 and t["n_shots"] == int(shots)
    assert t["metrics"]["accuracy"] == pytest.approx(100 * 135 / 213)  # 63.38 %, the paper's protocol
    lines = _lines(tmp_path)
    if shots == "3":
        assert t["fewshot"] == {"shots": 3, "pool": "leave-one-out: each item's exemplars drawn from the other test items",
                                "pool_size": 212, "seeds": [0], "stratified_by": "label (each label's share of the test items)",
                                "pool_origin": "the dataset has no train/dev split: leave-one-out over the test items"}
        assert all(len(ln["exemplar_ids"]) == 3 and ln["sample_id"] not in ln["exemplar_ids"] for ln in lines)
        record = json.loads((tmp_path / "run" / "run.json").read_text())
        assert record["fewshot_seeds"] == [0] and record["task_build"]["pharmacology-qa"]["scored_items"] == 213
    else:
        assert "fewshot" not in t and all("exemplar_ids" not in ln for ln in lines)


@pytest.mark.parametrize(("dataset", "name", "size"), [("drug-interaction", "Drug-Interaction-for-Emerging-Drugs.csv", 200),
                                                        ("treatment-recommendation", "Treatment-Recommendation.csv", 796)])
def test_the_other_released_datasets_score_their_table_1_size_zero_and_few_shot(tmp_path: Path, dataset: str, name: str,
                                                                                size: int) -> None:
    data = _released(tmp_path, dataset, name)
    for shots in ("0", "5"):
        scores = _run(tmp_path, data, None, dataset, "--shots", shots, out=f"run{shots}")
        assert scores["tasks"][dataset]["n"] == size, shots


def _request_bytes(tmp_path: Path, data: Path, out: str, *extra: str) -> bytes:
    _run(tmp_path, data, None, "drug-interaction", "--shots", "3", "--dry-run", *extra, out=out)
    return (tmp_path / out / "requests.jsonl").read_bytes()


def test_one_seed_twice_gives_byte_identical_requests_and_two_seeds_different_exemplars(tmp_path: Path) -> None:
    data = _released(tmp_path, "drug-interaction", "Drug-Interaction-for-Emerging-Drugs.csv")
    a = _request_bytes(tmp_path, data, "a", "--fewshot-seed", "1")
    assert a == _request_bytes(tmp_path, data, "a-again", "--fewshot-seed", "1")
    assert a != _request_bytes(tmp_path, data, "b", "--fewshot-seed", "2")
    assert _request_bytes(tmp_path, data, "default") == _request_bytes(tmp_path, data, "zero", "--fewshot-seed", "0")
    rows = {seed: [json.loads(ln) for ln in (tmp_path / out / "requests.jsonl").read_text().splitlines()]
            for seed, out in ((1, "a"), (2, "b"))}
    exemplars = {seed: [tuple(m["content"] for m in r["messages"][:-1]) for r in rs] for seed, rs in rows.items()}
    assert len(exemplars[1]) == len(exemplars[2]) == 200
    assert sum(x != y for x, y in zip(exemplars[1], exemplars[2])) > 150  # different exemplar sets, item by item


def test_three_seeds_report_mean_and_sd_and_resume_from_the_store(tmp_path: Path) -> None:
    data = _released(tmp_path, "pharmacology-qa", "Pharmacology-QA.xlsx")
    with FakeServer(responder=_copy_first_exemplar, model_id=MODEL) as srv:
        scores = _run(tmp_path, data, srv, "pharmacology-qa", "--shots", "3", "--fewshot-seed", "0,1,2")
        sent = srv.stats.completed
        again = _run(tmp_path, data, srv, "pharmacology-qa", "--shots", "3", "--fewshot-seed", "0,1,2")
        assert srv.stats.completed == sent  # the re-run is answered from the store
    assert again == scores
    t = scores["tasks"]["pharmacology-qa"]
    lines = _lines(tmp_path)
    assert len(lines) == t["n"] == 3 * 213 and t["n_available"] == 213
    assert len({ln["sample_id"] for ln in lines}) == 639 and {ln["fewshot_seed"] for ln in lines} == {0, 1, 2}
    per_seed = {}
    for seed in (0, 1, 2):  # each seed's accuracy counted by hand from its lines
        mine = [ln for ln in lines if ln["fewshot_seed"] == seed]
        assert len(mine) == 213 and all(ln["sample_id"].endswith(f"@seed{seed}") for ln in mine)
        per_seed[seed] = 100 * sum(ln["scores"]["accuracy"] == 100.0 for ln in mine) / 213
        assert t["fewshot"]["per_seed"][str(seed)]["accuracy"] == pytest.approx(per_seed[seed])
    assert len(set(per_seed.values())) > 1  # the draws differ, and so does a model that copies them
    assert t["metrics"]["accuracy"] == pytest.approx(sum(per_seed.values()) / 3)
    assert t["fewshot"]["sd"]["accuracy"] == pytest.approx(statistics.stdev(per_seed.values()))
    assert t["fewshot"]["seeds"] == [0, 1, 2]


def test_a_zero_shot_run_with_several_seeds_scores_each_item_once(tmp_path: Path) -> None:
    data = _released(tmp_path, "drug-interaction", "Drug-Interaction-for-Emerging-Drugs.csv")
    scores = _run(tmp_path, data, None, "drug-interaction", "--fewshot-seed", "0,1")
    assert scores["tasks"]["drug-interaction"]["n"] == 200 and "fewshot" not in scores["tasks"]["drug-interaction"]


def test_fewshot_seed_values_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("x", "1,1", "-1"):
        with pytest.raises(SystemExit):
            cli.main(["run", "--benchmark", "clinicbench", "--engine", "baseline", "--fewshot-seed", bad])
        assert "--fewshot-seed" in capsys.readouterr().err


@pytest.mark.parametrize("flag", [["--shots", "3"], ["--shots", "0"], ["--fewshot-seed", "1"]])
def test_shots_on_clue_which_fixes_them_is_refused_in_one_line(tmp_path: Path, flag: list[str],
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["run", "--benchmark", "clue", "--engine", "baseline", "--synthetic", "--tasks", "meqsum",
                     "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress", *flag])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "fixes its few-shot examples" in err[0] and " ".join(flag) in err[0], err
    assert not (tmp_path / "run" / "scores.json").exists()


def test_clue_tasks_says_where_exemplars_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tasks", "--benchmark", "clinicbench"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "held-out" not in "\n".join(rows.values())
    for name in ("pharmacology-qa", "drug-interaction", "treatment-recommendation"):
        assert rows[name].rstrip().endswith("leave-one-out") and "213" in rows["pharmacology-qa"], rows[name]
    assert rows["medqa"].rstrip().endswith("train split (leave-one-out if absent)")
    assert rows["mmlu-medicine"].rstrip().endswith("dev split (leave-one-out if absent)")


def test_a_two_seed_run_on_the_bundled_data_is_reported_with_its_pools_and_spread(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert cli.main(["run", "--benchmark", "clinicbench", "--engine", "baseline", "--synthetic", "--tasks",
                     "drug-interaction,gad", "--shots", "2", "--fewshot-seed", "0,1", "--out", str(out),
                     "--store", str(tmp_path / "s.sqlite"), "--no-progress"]) == 0
    scores = json.loads((out / "scores.json").read_text())
    di, gad = scores["tasks"]["drug-interaction"], scores["tasks"]["gad"]
    assert di["n"] == 2 * 8 and gad["n"] == 2 * 8 and di["fewshot"]["seeds"] == [0, 1]
    assert di["fewshot"]["sd"] == {"accuracy": 0.0}  # the baseline ignores its exemplars: 4 yes + 4 no → 50 % per seed
    assert gad["fewshot"]["pool"] == "train/dev"
    record = json.loads((out / "run.json").read_text())
    assert set(record["task_build"]["gad"]["exemplar_ids"]) == {"0", "1"}  # one shared draw per seed
    from clue.report.load import load_run
    from clue.stats import run_intervals

    iv = run_intervals(scores, load_run(out)["samples"], replicates=50).metrics[di["title"]]["accuracy"]
    assert iv.n == 16 and iv.clusters == 8  # the bootstrap resamples items: an item's two seeds are one unit
    assert cli.main(["report", str(out), "--out", str(tmp_path / "report")]) == 0
    html = (tmp_path / "report" / "index.html").read_text()
    assert "Few-shot exemplars" in html and "accuracy 50.00 ± 0.00 (50.00, 50.00)" in html
