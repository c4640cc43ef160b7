"""The datasets table, prompts, exemplar pools, baselines, roster, published file and bundled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from clue.benchmarks.clinicbench import baselines, bundled, loaders, pools, prompts, scoring
from clue.benchmarks.clinicbench.datasets import ACCESS, DATASETS, PROMPT_PROVENANCE, SCENARIOS, get
from clue.benchmarks.clinicbench.items import Item

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
            assert d.exemplars in ("train", "dev", "held-out draw")
            assert all(f.sha256 is None or len(f.sha256) == 64 for f in d.files)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundled.materialize(tmp_path_factory.mktemp("clinicbench"))


def test_every_prompt_renders_and_shows_no_gold(data_dir: Path) -> None:
    for name in RUNNABLE:
        assert (PKG / "prompts" / name / "user.j2").is_file() and (PKG / "prompts" / name / "answer.j2").is_file()
        items = loaders.load(name, data_dir).items
        text = prompts.render_user(name, items[0], 0)
        assert text and not text.endswith("\n\n") and "{{" not in text
        assert prompts.render_answer(name, items[0], 0)
        assert prompts.provenance(name)[0] == get(name).prompt


def test_verbatim_prompts() -> None:
    item = Item("1", {"findings": "Lungs clear"}, "Normal.", "test")
    assert prompts.render_user("iu-xray", item) == (
        "You are a helpful radiology assistant. The following are questions about radiology reports. Summarize the "
        "findings in the report into diagnostic statements in a coherent paragraph. Given the findings: Lungs clear. "
        "Q: Summarize the findings. A:")
    mc = Item("1", {"question": "Q?", "options": {"A": "a", "B": "b"}}, "A", "test")
    assert prompts.render_user("medmcqa", mc) == (
        "The following are multiple-choice questions about medical knowledge. Solve them in a step-by-step fashion. You "
        "must only output your choices as the final answer, no other texts.\n\nQ?\nA. a\nB. b")
    assert prompts.render_user("medqa", mc).endswith("\n\nQ?\nA: a\nB: b")
    pq = prompts.render_user("pubmedqa", Item("1", {"question": "Q?", "contexts": "C1 C2"}, "yes", "test"))
    assert pq.endswith("Only output your choice\n\nCONTEXTS: C1 C2\n\nQUESTION: Q?")
    hoc = prompts.render_user("hoc", Item("1", {"text": "T"}, frozenset(), "test"))
    assert hoc.startswith("Document: ```T```; \n\nTarget:") and hoc.endswith("No additional texts.\n")
    assert "8. Tumor-promoting inflammation (TPI)\tInflammation Cancer'" in hoc
    ner = prompts.render_user("bc5-disease", Item("1", {"text": "A b ."}, (), "test"), 3)
    assert ner == ('Paragraph: <3> | <A b .> Please extract all chemicals/genes/diseases mentioned in the paragraph. '
                   'Answer with the format "3 | <recognized entities>"')


@pytest.mark.parametrize("name", RUNNABLE)
def test_oracle_scores_100_and_baseline_runs(name: str, data_dir: Path) -> None:
    scored, _ = pools.scored_and_pool(name, loaders.load(name, data_dir))
    oracle = scoring.score(name, scored, [prompts.render_answer(name, it, i) for i, it in enumerate(scored)])
    assert oracle.value == pytest.approx(100.0) and oracle.failed == 0
    floor = scoring.score(name, scored, baselines.baseline_outputs(name, scored))
    assert 0.0 <= floor.value < 100.0 and floor.failed == 0


@pytest.mark.parametrize("name", RUNNABLE)
def test_scored_items_and_pool_are_disjoint(name: str, data_dir: Path) -> None:
    """The pool side of it; the draw through the real task path is tests/benchmarks/clinicbench/test_cb_wired.py."""
    scored, pool = pools.scored_and_pool(name, loaders.load(name, data_dir))
    assert scored and len(pool) >= 5 and not {it.id for it in scored} & {it.id for it in pool}


def test_held_out_draw_is_order_independent() -> None:
    items = tuple(Item(str(i), {}, "yes" if i < 100 else "no", "test") for i in range(200))  # Drug Interaction's layout
    scored, pool = pools.held_out(items)
    assert len(scored) == 195 and len(pool) == 5 and {it.reference for it in pool} == {"yes", "no"}


def test_realistic_outputs_score_as_extracted(data_dir: Path) -> None:
    items = loaders.load("pubmedqa", data_dir).items[:3]
    gold = [it.reference for it in items]
    outs = [f"Based on the evidence provided in the context, the answer to the question is {gold[0]}. ...",
            "Sure! I am unable to decide.",  # extraction failure: counted, scored wrong
            f" {gold[2].capitalize()}.\n\nThe study found ..."]
    got = scoring.score("pubmedqa", items, outs)
    assert got.failed == 1 and got.value == pytest.approx(200 / 3)


def test_pharmacology_constant_b_is_63_4_percent() -> None:
    xlsx = RELEASED / "Pharmacology-QA.xlsx"
    if not xlsx.is_file():
        pytest.skip("released Pharmacology-QA.xlsx not present")
    items = loaders.LOADERS["load_pharmacology"](xlsx).items
    got = scoring.score("pharmacology-qa", items, baselines.baseline_outputs("pharmacology-qa", items))
    assert baselines.baseline_outputs("pharmacology-qa", items)[0] == "B"
    assert round(got.value, 1) == 63.4 and got.n == 213


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
    for name, (kind, _) in bundled.SOURCE.items():
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
