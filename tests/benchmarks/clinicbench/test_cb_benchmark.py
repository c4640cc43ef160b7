"""The datasets table, prompts, exemplar pools, baselines, roster, published file and bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from clue.benchmarks.clinicbench import baselines, loaders, pools, synthetic
from clue.benchmarks.clinicbench.datasets import ACCESS, DATASETS, PROMPT_PROVENANCE, SCENARIOS, get
from clue.benchmarks.clinicbench.items import Item
from clue.benchmarks.clinicbench.protocol import PROTOCOLS
from clue.benchmarks.clinicbench.tasks import BASELINE_FIELD, TASKS

HERE = Path(__file__).resolve()
RELEASED = HERE.parents[3].parent / "shared" / "data" / "clinicbench" / "released"
PKG = HERE.parents[3] / "clue" / "benchmarks" / "clinicbench"
RUNNABLE = [d.name for d in DATASETS if d.runnable]


def test_table_has_the_17_datasets() -> None:
    assert len(DATASETS) == 17 and len({d.name for d in DATASETS}) == 17
    assert sum(d.size for d in DATASETS) == 24969  # Table 1 sizes (clinicbench.md §1)
    assert {d.scenario for d in DATASETS} == set(SCENARIOS)
    assert [d.name for d in DATASETS if d.access == "unavailable"] == ["referral-qa"]
    assert {d.name for d in DATASETS if d.credentialed} == {"mimic-cxr", "hospitalization-summarization", "patient-education"}
    for d in DATASETS:
        assert d.access in ACCESS
        if d.runnable:
            assert d.prompt in PROMPT_PROVENANCE and d.prompt_source and d.loader and d.files
            assert d.exemplars in ("train", "dev", "leave-one-out")
            assert all(f.sha256 is None or len(f.sha256) == 64 for f in d.files)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthetic.materialize(tmp_path_factory.mktemp("clinicbench"))


def _user(name: str, item: Item, index: int = 0) -> str:
    """The item's prompt as a run renders it (through the core's templates)."""
    return TASKS[name].render("user", {**item.fields, "index": index})


def test_every_prompt_renders_and_shows_no_gold(data_dir: Path) -> None:
    for name in RUNNABLE:
        assert (PKG / "prompts" / name / "user.j2").is_file() and (PKG / "prompts" / name / "answer.j2").is_file()
        sample = TASKS[name].load(data_dir)[0]
        text = TASKS[name].render("user", sample.fields)
        assert text and not text.endswith("\n\n") and "{{" not in text
        assert TASKS[name].render("answer", sample.fields)


def test_verbatim_prompts() -> None:
    item = Item("1", {"findings": "Lungs clear"}, "Normal.", "test")
    assert _user("iu-xray", item) == (
        "You are a helpful radiology assistant. The following are questions about radiology reports. Summarize the "
        "findings in the report into diagnostic statements in a coherent paragraph. Given the findings: Lungs clear. "
        "Q: Summarize the findings. A:")
    mc = Item("1", {"question": "Q?", "options": {"A": "a", "B": "b"}}, "A", "test")
    assert _user("medmcqa", mc) == (
        "The following are multiple-choice questions about medical knowledge. Solve them in a step-by-step fashion. You "
        "must only output your choices as the final answer, no other texts.\n\nQ?\nA. a\nB. b")
    assert _user("medqa", mc).endswith("\n\nQ?\nA: a\nB: b")
    pq = _user("pubmedqa", Item("1", {"question": "Q?", "contexts": "C1 C2"}, "yes", "test"))
    assert pq.endswith("Only output your choice\n\nCONTEXTS: C1 C2\n\nQUESTION: Q?")
    hoc = _user("hoc", Item("1", {"text": "T"}, frozenset(), "test"))
    assert hoc.startswith("Document: ```T```; \n\nTarget:") and hoc.endswith("No additional texts.\n")
    assert "8. Tumor-promoting inflammation (TPI)\tInflammation Cancer'" in hoc
    ner = _user("bc5-disease", Item("1", {"text": "A b ."}, (), "test"), 3)
    assert ner == ('Paragraph: <3> | <A b .> Please extract all chemicals/genes/diseases mentioned in the paragraph. '
                   'Answer with the format "3 | <recognized entities>"')


@pytest.mark.parametrize("name", RUNNABLE)
def test_oracle_scores_100_and_baseline_runs(name: str, data_dir: Path) -> None:
    """Exemplar-form gold answers read back as the gold answer (100 on every figure); the floor's answers are all
    readable and score below 100."""
    task, protocol = TASKS[name], PROTOCOLS["clinicbench"]
    split = task.prepare(data_dir, protocol, 0)
    samples = split.evaluated
    oracle = [task.render("answer", s.fields) for s in samples]
    assert not [o for o, s in zip(oracle, samples) if task.extraction_failure(o, s, protocol)]
    got = task.aggregate(task.score_all(oracle, samples, protocol), protocol)
    assert got and all(v == pytest.approx(100.0) for v in got.values()), got
    floor = [str(s.fields[BASELINE_FIELD]) for s in samples]
    assert not [o for o, s in zip(floor, samples) if task.extraction_failure(o, s, protocol)]
    primary = task.aggregate(task.score_all(floor, samples, protocol), protocol)[task.metrics[0]]
    assert primary is not None and 0.0 <= primary < 100.0


@pytest.mark.parametrize("name", RUNNABLE)
def test_the_pool_is_train_dev_where_the_data_has_it_else_leave_one_out(name: str, data_dir: Path) -> None:
    """The pool side of it; the draw through the real task path is tests/benchmarks/clinicbench/test_cb_wired.py."""
    loaded = loaders.load(name, data_dir)
    pool, origin = pools.exemplar_pool(name, loaded)
    if name in ("gad", "hoc", "ddi", "iu-xray"):  # the bundled data ships their train split
        assert origin == "train split" and len(pool) >= 5 and not {it.id for it in loaded.items} & {it.id for it in pool}
    else:
        assert pool == () and origin.endswith("leave-one-out over the test items")


def test_realistic_outputs_score_as_extracted(data_dir: Path) -> None:
    task, protocol = TASKS["pubmedqa"], PROTOCOLS["clinicbench"]
    samples = task.load(data_dir)[:3]
    gold = [s.reference for s in samples]
    outs = [f"Based on the evidence provided in the context, the answer to the question is {gold[0]}. ...",
            "Sure! I am unable to decide.",  # extraction failure: counted, scored wrong
            f" {gold[2].capitalize()}.\n\nThe study found ..."]
    assert [task.extraction_failure(o, s, protocol) is not None for o, s in zip(outs, samples)] == [False, True, False]
    assert task.aggregate(task.score_all(outs, samples, protocol), protocol) == {"accuracy": pytest.approx(200 / 3)}


def test_pharmacology_constant_b_is_135_of_213() -> None:
    xlsx = RELEASED / "Pharmacology-QA.xlsx"
    if not xlsx.is_file():
        pytest.skip("released Pharmacology-QA.xlsx not present")
    items = loaders.LOADERS["load_pharmacology"](xlsx).items
    outs = baselines.baseline_outputs("pharmacology-qa", items)
    kind = get("pharmacology-qa").answer
    assert len(items) == 213 and set(outs) == {"B"}
    assert sum(kind.score(o, it.reference, it.fields)["accuracy"] for o, it in zip(outs, items)) == 135 * 100.0


def test_roster_reads_with_the_clue_loader() -> None:
    from clue.roster import load_roster

    roster = load_roster(PKG / "roster.yaml")
    assert len(roster.models) == 22
    assert sum(m.type == "general" for m in roster.models) == 11
    api = [m.name for m in roster.models if m.size == "API"]
    assert api == ["gpt-4", "gpt-3.5", "claude"] and all(roster.get(n).hf_id is None for n in api)
    assert all(m.mode == "base" for m in roster.models if m.name.startswith(("meditron", "medalpaca", "pmc-llama")))


def test_published_is_header_only() -> None:
    from clue.benchmarks.clinicbench.published import PUBLISHED

    assert PUBLISHED.values == () and len(PUBLISHED.models) == 22
    text = (PKG / "published" / "clinicbench_published.csv").read_text()
    assert text.count("\n") == 1  # no number is bundled — never invent one


def test_synthetic_stand_ins_are_labelled(data_dir: Path) -> None:
    for name, (kind, _) in synthetic.SOURCE.items():
        if get(name).credentialed:
            assert kind == "synthetic"
        if kind == "synthetic":
            items = loaders.load(name, data_dir).items
            blob = " ".join(str(it.id) + str(dict(it.fields)) + str(it.reference) for it in items)
            assert "SYNTHETIC" in blob.upper() or name in ("ddi", "iu-xray", "mimic-cxr")


def test_listing_shows_every_dataset_with_access() -> None:
    from clue.benchmarks.clinicbench.datasets import format_table

    lines = format_table().splitlines()
    assert len(lines) == 18
    assert any(line.startswith("referral-qa") and "unavailable" in line for line in lines)
    assert sum("credentialed" in line for line in lines) == 3
