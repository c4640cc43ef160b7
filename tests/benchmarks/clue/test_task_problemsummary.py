"""ProblemSummary (spec §3.3): golden first requests from the spec's JSON literals, Q2 cleaning,
loader errors, scoring with and without the optional metric stacks. All data here is invented."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED, LLAMA3_STOP
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.base import render as clue_render
from clue.chat_template import ChatTemplate
from clue.errors import DataError
from clue.metrics import bertscore, umls
from clue.tasks import BuildContext
from clue.types import Endpoint
from tests.conftest import LLAMA3_TEMPLATE

# JSON string literals copied from the spec §3.3 (authoritative for whitespace).
S = json.loads('"You are a highly skilled and detail-oriented assistant, specifically trained to assist medical professionals in interpreting and '
               'extracting key information from medical documents. Your primary responsibility will be to analyze discharge letters from '
               'hospitals. You will receive an excerpt of such a discharge letter. Your task is to summarize the diagnoses and problems that led '
               'to the patient\'s hospitalization."')
U = json.loads('"--------------BEGIN DISCHARGE LETTER--------------\\n{Subjectives}\\n\\n{Assessment}\\n--------------END DISCHARGE '
               'LETTER--------------\\nNow respond with the list of diagnoses and patient problems. Do not generate anything else."')
A_TGI = json.loads('"Diagnoses/Patient problems: {Summary}"')
A_VLLM = json.loads('"{Summary}"')
P = json.loads('"Diagnoses/Patient problems: "')

TASK = TASKS["problemsummary"]
PROFILES = [CLUE_V3, CORRECTED, CLUE_2025]

# Invented rows (columns deliberately in another order than our writer's: the loader reads by name).
ROWS = [
    {"File ID": "SYNTHETIC-ps-t1", "Assessment": "Pneumonia, on antibiotics.\n", "Summary": "Pneumonia; Sepsis;",
     "Subjectives": "  SYNTHETIC cough x3 days, \"fever\"", "Objectives": "T 38.9"},
    {"File ID": "SYNTHETIC-ps-t2", "Assessment": "CHF exacerbation. AKI.", "Summary": "Heart failure;Acute kidney injury",
     "Subjectives": "SYNTHETIC dyspnea\nand edema", "Objectives": ""},
    {"File ID": "SYNTHETIC-ps-t3", "Assessment": "DKA", "Summary": "Diabetic ketoacidosis; Hypokalemia; ",
     "Subjectives": "SYNTHETIC {{ not_a_field }} {Assessment}", "Objectives": "pH 7.1"},
    {"File ID": "SYNTHETIC-ps-t4", "Assessment": "GI bleed! Anemia.", "Summary": "GI bleed; Anemia;",
     "Subjectives": "SYNTHETIC melena", "Objectives": "Hgb 7"},
    {"File ID": "SYNTHETIC-ps-t5", "Assessment": "Cholecystitis with stones.", "Summary": "Cholecystitis",
     "Subjectives": "SYNTHETIC RUQ pain", "Objectives": "WBC 14"},
    {"File ID": "SYNTHETIC-ps-t6", "Assessment": "Stroke, left MCA.", "Summary": "Ischemic stroke; Hypertension;",
     "Subjectives": "SYNTHETIC aphasia", "Objectives": "CT neg"},
]


def write_csv(data_dir: Path, rows=ROWS, header=("File ID", "Assessment", "Summary", "Subjectives", "Objectives")) -> Path:
    path = data_dir / "problemsummary" / "BioNLP2023-1A-Test.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(header))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write_csv(tmp_path / "data")
    return tmp_path / "data"


def spec_clean(summary: str, profile) -> str:
    """Independent statement of Q2: 'keep' replaces every ';' (the trailing-';' removal was a no-op)."""
    if profile.q2_problemsummary_semicolons == "strip_trailing":
        summary = summary.rstrip()
        summary = summary[:-1] if summary.endswith(";") else summary
    return summary.replace(";", ", ")


def expected_rows(profile) -> list[dict]:
    rows = [{**r, "Summary": spec_clean(r["Summary"], profile)} for r in ROWS]
    if profile.era == "vllm":
        random.seed(1)
        random.shuffle(rows)
    return rows


def first_request(data_dir: Path, profile, mode: str, send: str, template=None, model="org/some-model"):
    split = TASK.split(TASK.load(data_dir), profile)
    ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", model), profile=profile,
                       mode=mode, send=send, chat_template=template, max_position_embeddings=4096)
    return split, TASK.build(split, ctx)[0]


def expected_messages(profile, mode: str) -> list[dict]:
    rows = expected_rows(profile)
    assistant = A_TGI if profile.era == "tgi" else A_VLLM
    msgs = [{"role": "system", "content": S}] if mode == "instruct-system" else []
    for i, e in enumerate(rows[:3]):
        user = U.format(**e)
        if mode == "instruct" and i == 0:
            user = S + "\n\n" + user
        msgs += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant.format(**e)}]
    return msgs + [{"role": "user", "content": U.format(**rows[3])}]


def test_template_files_render_the_spec_strings():
    fields = {"Subjectives": " subj\n", "Assessment": "assess", "Summary": "a, b, "}
    assert clue_render("problemsummary", "system") == S
    assert clue_render("problemsummary", "user", fields) == U.format(**fields)
    assert clue_render("problemsummary", "assistant", fields) == A_TGI.format(**fields)
    assert clue_render("problemsummary", "assistant_vllm", fields) == A_VLLM.format(**fields)
    assert clue_render("problemsummary", "prefix") == P


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("mode", ["instruct-system", "instruct"])
def test_messages_match_spec(data_dir, profile, mode):
    _, request = first_request(data_dir, profile, mode, "messages")
    assert list(request.messages) == expected_messages(profile, mode)
    assert request.params.max_new_tokens == (100 if profile.era == "tgi" else 512)
    assert request.params.truncate is None  # only the TGI native route passes truncate


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_base_prompt_matches_spec(data_dir, profile):
    """TGI era: S + shots + U(x) + P (§2.2 case 3). The vLLM era had no base-model support; the kit
    renders the same layout with that era's assistant template and no prefix."""
    _, request = first_request(data_dir, profile, "base", "prompt")
    rows = expected_rows(profile)
    assistant, prefix = (A_TGI, P) if profile.era == "tgi" else (A_VLLM, "")
    expected = S + "\n\n" + U.format(**rows[0]) + "\n\n" + assistant.format(**rows[0])
    for shot in rows[1:3]:
        expected += "\n\n" + U.format(**shot) + "\n\n" + assistant.format(**shot)
    expected += "\n\n" + U.format(**rows[3]) + "\n\n" + prefix
    assert request.prompt == expected
    assert request.params.truncate == (4096 - 100 if profile.q8_truncate == "keep_last" else None)


@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED], ids=lambda p: p.name)
def test_tgi_prompt_appends_prefix_after_generation_prompt(data_dir, profile):
    template = ChatTemplate(source="llama3", template=LLAMA3_TEMPLATE, special_tokens={"bos_token": "<|begin_of_text|>"})
    _, request = first_request(data_dir, profile, "instruct-system", "prompt", template, model="meta-llama/Meta-Llama-3-8B-Instruct")
    body = "".join(f"<|start_header_id|>{m['role']}<|end_header_id|>\n\n{m['content'].strip()}<|eot_id|>"
                   for m in expected_messages(profile, "instruct-system"))
    bos = "<|begin_of_text|>" if profile.q9_double_bos else ""
    assert request.prompt == bos + body + "<|start_header_id|>assistant<|end_header_id|>\n\n" + P
    assert request.params.truncate == (4096 - 100 if profile is CLUE_V3 else None)  # corrected Q8 cuts client-side
    if profile is CLUE_V3:
        assert request.params.stop == LLAMA3_STOP


def test_q2_cleaning_both_ways(data_dir):
    keep = TASK.split(TASK.load(data_dir), CLUE_V3)
    fixed = TASK.split(TASK.load(data_dir), CORRECTED)
    assert keep.shots[0].reference == "Pneumonia,  Sepsis, "  # "; " → ",  ", trailing ";" → ", "
    assert keep.shots[0].fields["Summary"] == keep.shots[0].reference  # shots' answers are cleaned too
    assert keep.shots[1].reference == "Heart failure, Acute kidney injury"
    assert keep.shots[2].reference == "Diabetic ketoacidosis,  Hypokalemia,  "  # last char ' ': untouched by Q2
    assert fixed.shots[0].reference == "Pneumonia,  Sepsis"
    assert fixed.shots[2].reference == "Diabetic ketoacidosis,  Hypokalemia"
    assert TASK.load(data_dir)[0].reference == "Pneumonia; Sepsis;"  # load itself leaves the file's text


def test_vllm_era_shuffles_after_cleaning_with_seed_1(data_dir):
    samples = TASK.load(data_dir)
    order = list(range(len(samples)))
    random.seed(1)
    random.shuffle(order)
    split = TASK.split(samples, CLUE_2025)
    assert [s.id for s in split.shots + split.evaluated] == [str(i) for i in order]
    v3 = TASK.split(samples, CLUE_V3)
    assert [s.id for s in v3.shots] == ["0", "1", "2"] and len(v3.evaluated) == 3


def test_loader_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="physionet.org"):
        TASK.load(tmp_path)
    write_csv(tmp_path, header=("File ID", "Subjectives", "Summary"), rows=[{"File ID": "x", "Subjectives": "s", "Summary": "y"}])
    with pytest.raises(DataError, match="lacks column.*Assessment"):
        TASK.load(tmp_path)
    write_csv(tmp_path, rows=[{**ROWS[0], "File ID": "SYNTHETIC-empty", "Summary": ""}])
    with pytest.raises(DataError, match="row 2 .*SYNTHETIC-empty.*empty Summary"):
        TASK.load(tmp_path)
    (tmp_path / "problemsummary" / "BioNLP2023-1A-Test.csv").write_bytes(b"Subjectives,Assessment,Summary\n\xff\xfe,a,b\n")
    with pytest.raises(DataError, match="not UTF-8"):
        TASK.load(tmp_path)


def test_task_declarations():
    assert TASK.title == "ProblemSummary" and TASK.credentialed and TASK.k == 3 and TASK.q23_applies
    assert TASK.files == ("BioNLP2023-1A-Test.csv",)
    assert TASK.double_count_first == {"tgi": True, "vllm": False}
    assert TASK.truncate(8192) == 8092
    assert TASK.metrics == ("rougeL", "rouge1", "rouge2", "bertscore_p", "bertscore_r", "bertscore_f1",
                            "umls_p", "umls_r", "umls_f1")


def test_baseline_rule_is_the_first_sentence_of_the_assessment(data_dir):
    samples = TASK.load(data_dir)
    assert TASK.baseline(samples[0], []) == "Pneumonia, on antibiotics."
    assert TASK.baseline(samples[2], []) == "DKA"  # no sentence end: the whole section
    assert TASK.baseline(samples[3], []) == "GI bleed!"


def test_postprocess_applies_tgi_cleaning():
    out = TASK.postprocess("Pneumonia, Sepsis\n<|user|> more", CLUE_V3, "org/m")
    assert out == "Pneumonia, Sepsis\n"


@pytest.fixture
def no_stacks(monkeypatch):
    monkeypatch.setattr(bertscore, "available", lambda: bertscore.INSTALL_HINT)
    monkeypatch.setattr(umls, "available", lambda: umls.INSTALL_HINT)


def test_without_optional_stacks_only_rouge_is_scored_and_the_rest_is_named(data_dir, no_stacks):
    split = TASK.split(TASK.load(data_dir), CLUE_V3)
    outputs = ["Pneumonia, Sepsis", "GI bleed", "nothing"]
    per_sample = TASK.score_all(outputs, split.evaluated, CLUE_V3)
    assert all(set(s) == {"rouge1", "rouge2", "rougeL"} for s in per_sample)
    skipped = TASK.skipped_metrics(CLUE_V3)
    assert set(skipped) == {"bertscore_p", "bertscore_r", "bertscore_f1", "umls_p", "umls_r", "umls_f1"}
    assert skipped["bertscore_f1"] == "pip install 'clue-kit[bertscore]'" and "~1 GB" in skipped["umls_f1"]
    assert set(TASK.aggregate(per_sample, CLUE_V3)) == {"rougeL", "rouge1", "rouge2"}


def test_aggregate_double_counts_first_in_tgi_era_only(data_dir, no_stacks):
    per_sample = [{"rougeL": 10.0, "rouge1": 10.0, "rouge2": 10.0}, {"rougeL": 40.0, "rouge1": 40.0, "rouge2": 40.0}]
    assert TASK.aggregate(per_sample, CLUE_V3)["rougeL"] == pytest.approx((10 + 10 + 40) / 3)
    assert TASK.aggregate(per_sample, CORRECTED)["rougeL"] == pytest.approx(25.0)
    assert TASK.aggregate(per_sample, CLUE_2025)["rougeL"] == pytest.approx(25.0)  # plain mean, 0.25 → "0.25"
    per_sample[1]["rougeL"] = 41.234
    assert TASK.aggregate(per_sample, CLUE_2025)["rougeL"] == pytest.approx(26.0)  # Q23: 0.25617 → "0.26"


@pytest.mark.parametrize("profile,model,layer,lower,trunc", [
    (CLUE_V3, "emilyalsentzer/Bio_ClinicalBERT", 9, True, False),
    (CORRECTED, "emilyalsentzer/Bio_ClinicalBERT", 9, False, True),
    (CLUE_2025, "allenai/scibert_scivocab_uncased", 8, False, False),
], ids=["clue-v3", "corrected", "clue-2025"])
def test_score_all_with_stacks_uses_the_era_model(data_dir, monkeypatch, profile, model, layer, lower, trunc):
    calls = []

    def fake_bertscore(cands, refs, **kw):
        calls.append((list(cands), list(refs), kw))
        return [{"bertscore_p": 50.0, "bertscore_r": 25.0, "bertscore_f1": 100 / 3} for _ in cands]

    monkeypatch.setattr(bertscore, "available", lambda: None)
    monkeypatch.setattr(bertscore, "score", fake_bertscore)
    umls.set_extractor(lambda text: {w.strip(",").lower() for w in text.split() if len(w) > 3})
    try:
        split = TASK.split(TASK.load(data_dir), profile)
        outputs = [s.reference for s in split.evaluated]
        per_sample = TASK.score_all(outputs, split.evaluated, profile)
        assert TASK.skipped_metrics(profile) == {}
    finally:
        umls.set_extractor(None)
    (cands, refs, kw), = calls  # one batched call for the whole task
    assert cands == outputs and refs == [s.reference for s in split.evaluated]
    assert kw == {"model": model, "layer": layer, "lowercase": lower, "truncate_512": trunc}
    assert all(s["umls_f1"] == pytest.approx(100.0) and s["bertscore_p"] == 50.0 for s in per_sample)


def test_synthetic_file_round_trips(synthetic_dir):
    path = synthetic_dir / "problemsummary" / "BioNLP2023-1A-Test.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == "File ID,Subjectives,Objectives,Assessment,Summary"
    samples = TASK.load(synthetic_dir)
    assert len(samples) >= 5 and all(s.fields["File ID"].startswith("SYNTHETIC") for s in samples)
    assert any(s.reference.endswith(";") for s in samples)  # exercises Q2
