"""A throwaway third benchmark, declared entirely in this file: three tiny tasks (a multiple-choice task
with a train split, a generation task without one, a dose task read by a custom answer kind), a generic
protocol, a scoring rule with a weighted group, a published table with a zero-shot and a 3-shot row, a data
builder with its own option (`clue data build toydose --doses N`), and a registry entry. It runs end to end
through the unchanged core — `clue run/tasks/protocols --benchmark toy`, scores.json, run.json, a report
mixed with CLUE and ClinicBench runs, `clue verify` by setting — which is the proof that adding a
benchmark touches no core file (the living spec of the benchmark contract)."""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import pytest

from clue import cli
from clue.answers import AnswerKind, Extraction
from clue.benchmark import Benchmark, register_benchmark, resolve, unregister_benchmark
from clue.datafiles import Builder
from clue.protocol import GenericProtocol
from clue.published import Published
from clue.score_rule import Group, ScoreRule
from clue.tasks import BuildContext, fewshot
from clue.tasks.kinds import AnswerTask, GenerationTask, MultipleChoiceTask
from clue.types import Endpoint, Sample

PROMPTS = {
    "toyqa": {"system": "Answer with the letter of the correct option.", "user": "{{ question }}\n{{ options }}",
              "assistant": "{{ answer }}", "prefix": "Answer: "},
    "toysum": {"system": "Summarise in one sentence.", "user": "Text: {{ text }}", "assistant": "{{ summary }}"},
    "toydose": {"system": "Give the dose in mg.", "user": "{{ drug }} for a patient of {{ kg }} kg?", "assistant": "{{ answer }} mg"},
}


def _qa(i: int) -> dict:
    return {"id": f"q{i}", "question": f"Which letter is number {i % 3}?", "options": "A) zero B) one C) two",
            "answer": "ABC"[i % 3]}


class ToyQA(MultipleChoiceTask):
    name, title, files, source, k = "toyqa", "Toy QA", ("test.json", "train.json"), "made up in this test", 1

    def load(self, data_dir: Path) -> list[Sample]:
        return [Sample(r["id"], r, r["answer"]) for r in json.loads(self.path(data_dir, "test.json").read_text())]

    def load_pool(self, data_dir: Path) -> list[Sample]:
        return [Sample(r["id"], r, r["answer"]) for r in json.loads(self.path(data_dir, "train.json").read_text())]

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """Always A."""
        return "A"


class ToySum(GenerationTask):
    name, title, files, source, k = "toysum", "Toy Summary", ("test.json",), "made up in this test", 1

    def load(self, data_dir: Path) -> list[Sample]:
        return [Sample(r["id"], r, r["summary"]) for r in json.loads(self.path(data_dir).read_text())]

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """The first sentence of the text."""
        return sample.fields["text"].split(".")[0] + "."


class Dose(AnswerKind):
    """A custom answer kind: a dose in mg. "dose: X mg" (the explicit statement) wins; else the one "X mg" named;
    two different doses without a statement, or none, → unreadable (scored wrong, counted)."""

    name, metrics = "dose", ("accuracy",)

    def read(self, output: str, fields: Mapping[str, Any]) -> Extraction:
        stated = set(re.findall(r"dose\s*(?:is|:)\s*(\d+(?:\.\d+)?)\s*mg", output, re.I))
        named = stated or set(re.findall(r"(\d+(?:\.\d+)?)\s*mg\b", output, re.I))
        return Extraction(float(named.pop())) if len(named) == 1 else Extraction.fail(f"{len(named)} doses named")

    def per_sample(self, value: Any, gold: Any) -> dict[str, float]:
        return {"accuracy": 100.0 if value is not None and value == float(gold) else 0.0}


class ToyDose(AnswerTask):
    name, title, files, source, k, answer_kind = "toydose", "Toy Dose", ("test.json",), "`clue data build toydose`", 0, Dose()

    def load(self, data_dir: Path) -> list[Sample]:
        return [Sample(r["id"], r, r["answer"]) for r in json.loads(self.path(data_dir).read_text())]

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """A chatty constant: 10 mg, with the weight (in kg, never read as a dose) repeated."""
        return f"For {sample.fields['kg']} kg the dose: 10 mg."


def _build_doses(args: argparse.Namespace) -> Path:
    out = args.data_dir / "toydose" / "test.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([{"id": f"d{i}", "drug": "toyol", "kg": 10 * i, "answer": 5 * i} for i in range(args.doses)]))
    return out


DOSE_BUILDER = Builder("toydose", "write the toy dose items", "clue data build toydose --doses N",
                       lambda p: p.add_argument("--doses", type=int, required=True, help="how many items"), _build_doses)


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "prompts"
    for task, parts in PROMPTS.items():
        (root / task).mkdir(parents=True)
        for part, text in parts.items():
            (root / task / f"{part}.j2").write_text(text + "\n")
    ToyQA.prompt_root = ToySum.prompt_root = ToyDose.prompt_root = root
    data = tmp_path / "data"
    (data / "toyqa").mkdir(parents=True)
    (data / "toyqa" / "test.json").write_text(json.dumps([_qa(i) for i in range(6)]))
    (data / "toyqa" / "train.json").write_text(json.dumps([{**_qa(i), "id": f"train{i}"} for i in range(10, 14)]))
    (data / "toysum").mkdir()
    (data / "toysum" / "test.json").write_text(json.dumps(
        [{"id": f"s{i}", "text": f"Patient {i} is well. Follow up in {i} weeks.", "summary": f"Patient {i} is well."} for i in range(6)]))
    protocols = {"plain": GenericProtocol(name="plain", description="greedy, seeded shots", seed=3, prefill=True),
                 "reseeded": GenericProtocol(name="reseeded", description="another shot draw", seed=4)}
    (tmp_path / "models.csv").write_text("model,hf_id,hf_id_status,type,base_model,size,aliases\n"
                                         "Parameterless baseline,,none,baseline,,,\n")
    (tmp_path / "values.csv").write_text("model,task,metric,value,source,setting\n"  # the 3-shot row must never judge a zero-shot run
                                         "Parameterless baseline,Toy QA,accuracy,33.33,toy_paper,zero-shot\n"
                                         "Parameterless baseline,toyqa,accuracy,50.00,toy_paper,3-shot\n")
    rule = ScoreRule(task_metrics={"Toy QA": ("accuracy",), "Toy Summary": ("rouge1",)},
                     groups=(Group("toy", "Toy average", ("Toy QA", "Toy Summary"), weights=(2.0, 1.0)),))
    bench = register_benchmark(Benchmark(name="toy", title="Toy benchmark", tasks={"toyqa": ToyQA(), "toysum": ToySum(),
                                                                                   "toydose": ToyDose()},
                                         protocols=protocols, default_protocol="plain", reference_protocol="plain", rule=rule,
                                         published=Published.from_csv(tmp_path / "values.csv", tmp_path / "models.csv",
                                                                      notes={"toy_paper": "the toy paper, Table 1"}),
                                         builders=(DOSE_BUILDER,)))
    assert cli.main(["data", "build", "toydose", "--doses", "4", "--data-dir", str(data)]) == 0  # its own option
    yield bench, data
    unregister_benchmark("toy")


def test_the_toy_benchmark_runs_end_to_end_through_the_core(toy, tmp_path, capsys):
    bench, data = toy
    out = tmp_path / "run"
    code = cli.main(["run", "--benchmark", "toy", "--engine", "baseline", "--data-dir", str(data), "--out", str(out),
                     "--store", str(tmp_path / "store.sqlite"), "--no-progress", "--shots", "2"])
    assert code == 0, capsys.readouterr().err
    scores = json.loads((out / "scores.json").read_text())
    assert scores["benchmark"] == "toy" and scores["protocol"] == "plain" and set(scores["tasks"]) == {"toyqa", "toysum", "toydose"}
    # the builder wrote doses 0, 5, 10, 15 mg; the floor says "For 20 kg the dose: 10 mg." → read 10 (the statement), 1 of 4
    assert scores["tasks"]["toydose"]["n"] == 4 and scores["tasks"]["toydose"]["metrics"]["accuracy"] == pytest.approx(25.0)
    assert scores["tasks"]["toydose"]["extraction_failures"] == 0
    assert scores["tasks"]["toyqa"]["metrics"]["accuracy"] == pytest.approx(100 * 2 / 6)  # answers A: q0, q3
    assert scores["tasks"]["toyqa"]["n"] == 6 and scores["tasks"]["toyqa"]["n_shots"] == 2  # shots from train.json
    # no train split: every one of the 6 items is scored, each with 2 exemplars drawn from the other 5
    assert scores["tasks"]["toysum"]["n"] == 6 and scores["tasks"]["toysum"]["metrics"]["rouge1"] == pytest.approx(100.0)
    record = json.loads((out / "run.json").read_text())
    assert record["benchmark"] == "toy" and record["fewshot_seeds"] == [3]
    assert record["task_build"]["toysum"] == {"shots": 2, "pool": fewshot.LEAVE_ONE_OUT, "pool_size": 5, "seeds": [3]}
    assert record["task_build"]["toyqa"] == {"shots": 2, "pool": "train/dev", "pool_size": 4, "seeds": [3]}
    assert scores["tasks"]["toyqa"]["fewshot"] == record["task_build"]["toyqa"]

    report = tmp_path / "report"
    assert cli.main(["report", str(out), "--out", str(report)]) == 0
    rows = list(csv.DictReader((report / "results.csv").open()))
    assert rows and {r["benchmark"] for r in rows} == {"toy"}


def test_tasks_and_protocols_commands_list_the_toy_benchmark(toy, capsys):
    assert cli.main(["tasks", "--benchmark", "toy"]) == 0
    assert "toyqa" in capsys.readouterr().out
    assert cli.main(["protocols", "--benchmark", "toy", "--show", "reseeded"]) == 0
    assert "seed = 4" in capsys.readouterr().out


def test_the_benchmark_is_found_from_its_task_names(toy):
    assert resolve(None, "toyqa,toysum").name == "toy"
    assert resolve(None, "meqsum").name == "clue"


def _ctx(protocol, mode="instruct-system", send="messages"):
    return BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", "some/base-model"), profile=protocol,
                        mode=mode, send=send)


def test_few_shot_draws_are_seeded_per_run_and_never_evaluated(toy):
    bench, data = toy
    qa, plain, reseeded = bench.tasks["toyqa"], bench.protocols["plain"], bench.protocols["reseeded"]
    a, again, b = (qa.prepare(data, p, shots=2) for p in (plain, plain, reseeded))
    assert [s.id for s in a.shots] == [s.id for s in again.shots] != [s.id for s in b.shots]
    assert all(s.id.startswith("train") for s in a.shots) and len(a.evaluated) == 6
    held = bench.tasks["toysum"].prepare(data, plain, shots=3)
    assert [s.id for s in held.evaluated] == [f"s{i}" for i in range(6)] and held.shots == []  # all scored
    for s in held.evaluated:  # each item's own 3 exemplars, never itself
        own = [x.id for x in held.shots_for(s.id)]
        assert len(set(own)) == 3 and s.id not in own and set(own) <= {f"s{i}" for i in range(6)}
    assert qa.prepare(data, plain, shots=0).shots == []


def test_zero_shot_base_model_prompts_are_allowed_by_the_generic_core(toy):
    bench, data = toy
    qa, plain = bench.tasks["toyqa"], bench.protocols["plain"]
    split = qa.prepare(data, plain, shots=0)
    request = qa.build(split, _ctx(plain, mode="base", send="prompt"))[0]
    assert request.prompt == ("Answer with the letter of the correct option.\n\nWhich letter is number 0?\n"
                              "A) zero B) one C) two\n\nAnswer: ")
    assert request.protocol == "plain" and request.params.max_new_tokens == 512 and request.params.temperature is None
    messages = qa.build(split, _ctx(plain))[0].messages
    assert [m["role"] for m in messages] == ["system", "user"]


def test_the_toy_benchmark_is_reported_beside_clue_and_clinicbench_and_verified_by_setting(toy, tmp_path, capsys):
    from tests.core.test_report_fixtures import published_like_run, sample, write_run

    _, data = toy
    runs = {}
    for shots in ("0", "3"):
        runs[shots] = tmp_path / f"toy{shots}"
        assert cli.main(["run", "--benchmark", "toy", "--engine", "baseline", "--data-dir", str(data), "--out", str(runs[shots]),
                         "--store", str(tmp_path / "store.sqlite"), "--no-progress", "--shots", shots]) == 0
    clue_run = published_like_run(tmp_path / "clue-run", "Meta-Llama-3-8B-Instruct", n=4)
    cb_run = write_run(tmp_path / "cb-run", "gpt-4", [sample("medqa", f"SYNTHETIC-{i}", {"accuracy": 100.0 * (i % 2)}) for i in range(4)],
                       protocol="clinicbench", titles={"medqa": "MedQA (USMLE, US)"}, shots=0, benchmark="clinicbench")
    report = tmp_path / "report"
    assert cli.main(["report", str(runs["0"]), str(runs["3"]), str(clue_run), str(cb_run), "--out", str(report), "--bootstrap", "50"]) == 0
    html = (report / "index.html").read_text()
    for name in ("toy", "clue", "clinicbench"):  # one section per benchmark, each with its own groups
        assert f'id="{name}-leaderboard"' in html and f'id="{name}-benchmark"' in html
    assert 'id="summary"' in html and ">Toy average<" in html and ">Level 1<" in html and ">Reasoning<" in html
    assert "<code>toy_paper</code> = the toy paper, Table 1" in html
    three_shot_row = html[html.index("parameterless baseline · 3-shot"):].split("</tr>")[0]
    assert 'data-v="50.000000"' in three_shot_row  # the published 3-shot row, keyed by the kit's task name, in its own row
    rows = list(csv.DictReader((report / "results.csv").open()))
    assert {r["benchmark"] for r in rows} == {"toy", "clue", "clinicbench"}
    scores = json.loads((runs["0"] / "scores.json").read_text())["tasks"]
    acc, rouge1 = scores["toyqa"]["metrics"]["accuracy"], scores["toysum"]["metrics"]["rouge1"]
    (avg,) = [r for r in rows if r["run"] == "toy0" and r["task"] == "toy"]
    assert float(avg["value"]) == pytest.approx((2 * acc + 1 * rouge1) / 3)  # the declared weights, not the plain mean

    capsys.readouterr()
    assert cli.main(["verify", str(runs["0"]), str(runs["3"]), "--json", str(tmp_path / "v.json"), "--bootstrap", "50"]) == 4
    checks = {(c["run"], c["task"], c["metric"]): c for c in json.loads((tmp_path / "v.json").read_text())}
    zero, three = checks[("toy0", "Toy QA", "accuracy")], checks[("toy3", "Toy QA", "accuracy")]
    assert (zero["setting"], zero["published"], zero["reproduced"]) == ("zero-shot", 33.33, pytest.approx(100 * 2 / 6))
    assert (three["setting"], three["published"], three["delta"]) == ("3-shot", 50.0, pytest.approx(100 * 2 / 6 - 50.0))
    assert zero["published_model"] == three["published_model"] == "Parameterless baseline"


@pytest.mark.parametrize("answer, expected", [
    ("The dose: 15 mg (not 10 mg).", 15.0), ("Give 5 mg.", 5.0), ("5 mg or 10 mg", None), ("dose is 2.5 mg", 2.5),
    ("For 30 kg: 7 MG", 7.0), ("no idea", None), ("Dose: 10 mg. Dose: 5 mg.", None), ("50 mg/kg… 50 mg", 50.0)])
def test_the_custom_answer_kind_reads_by_its_own_rule(answer, expected):
    got = Dose().read(answer, {})
    assert (got.value, got.failed) == (expected, expected is None)
