"""A throwaway second benchmark, declared entirely in this file: two tiny tasks (a multiple-choice task
with a train split, a generation task without one), a generic protocol and a registry entry. It runs
end to end through the unchanged core — `clue run/tasks/protocols --benchmark toy`, scores.json,
run.json, the report — which is the proof that adding a benchmark touches no core file."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import pytest

from clue import cli
from clue.benchmark import Benchmark, register_benchmark, resolve, unregister_benchmark
from clue.protocol import GenericProtocol
from clue.tasks import BuildContext, fewshot
from clue.tasks.kinds import GenerationTask, MultipleChoiceTask
from clue.types import Endpoint, Sample

PROMPTS = {
    "toyqa": {"system": "Answer with the letter of the correct option.", "user": "{{ question }}\n{{ options }}",
              "assistant": "{{ answer }}", "prefix": "Answer: "},
    "toysum": {"system": "Summarise in one sentence.", "user": "Text: {{ text }}", "assistant": "{{ summary }}"},
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


@pytest.fixture
def toy(tmp_path):
    root = tmp_path / "prompts"
    for task, parts in PROMPTS.items():
        (root / task).mkdir(parents=True)
        for part, text in parts.items():
            (root / task / f"{part}.j2").write_text(text + "\n")
    ToyQA.prompt_root = ToySum.prompt_root = root
    data = tmp_path / "data"
    (data / "toyqa").mkdir(parents=True)
    (data / "toyqa" / "test.json").write_text(json.dumps([_qa(i) for i in range(6)]))
    (data / "toyqa" / "train.json").write_text(json.dumps([{**_qa(i), "id": f"train{i}"} for i in range(10, 14)]))
    (data / "toysum").mkdir()
    (data / "toysum" / "test.json").write_text(json.dumps(
        [{"id": f"s{i}", "text": f"Patient {i} is well. Follow up in {i} weeks.", "summary": f"Patient {i} is well."} for i in range(6)]))
    protocols = {"plain": GenericProtocol(name="plain", description="greedy, seeded shots", seed=3, prefill=True),
                 "reseeded": GenericProtocol(name="reseeded", description="another shot draw", seed=4)}
    bench = register_benchmark(Benchmark(name="toy", title="Toy benchmark", tasks={"toyqa": ToyQA(), "toysum": ToySum()},
                                         protocols=protocols, default_protocol="plain"))
    yield bench, data
    unregister_benchmark("toy")


def test_the_toy_benchmark_runs_end_to_end_through_the_core(toy, tmp_path, capsys):
    bench, data = toy
    out = tmp_path / "run"
    code = cli.main(["run", "--benchmark", "toy", "--engine", "baseline", "--data-dir", str(data), "--out", str(out),
                     "--store", str(tmp_path / "store.sqlite"), "--no-progress", "--shots", "2"])
    assert code == 0, capsys.readouterr().err
    scores = json.loads((out / "scores.json").read_text())
    assert scores["benchmark"] == "toy" and scores["protocol"] == "plain" and set(scores["tasks"]) == {"toyqa", "toysum"}
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
