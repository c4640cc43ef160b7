"""Each quirk switch changes what it should and nothing else.

For every `q*` field of ProtocolProfile, CLUE_V3 and `dataclasses.replace(CLUE_V3, q…=other)` are run
through the same probe, which records, per task: the requests (prompts on the TGI route in the
instruct-system and base layouts, messages on the OpenAI route), their generation parameters, the
evaluated references, post-processing of tricky outputs, per-sample scores of fixed outputs (with a
recording BERTScore stand-in, so Q24/Q25 are visible) and the aggregate of a fixed score list. The
observations that differ must be exactly the expected ones. Dataset-construction switches (Q19–Q21,
Q26–Q28) are recorded in run.json only: flipping them must change nothing.

LongHealth is probed with a small token budget (documents get cut, so Q11 and Q14 show) and a fixed
"fresh" seed for the unseeded Q10 mode.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing

import pytest

from clue.benchmarks.clue.protocol import CLUE_V3, ProtocolProfile
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks import longhealth as longhealth_module
from clue.benchmarks.clue.tasks.longhealth import LongHealth
from clue.chat_template import ChatTemplate
from clue.metrics import bertscore
from clue.tasks import BuildContext
from clue.types import Endpoint
from tests.conftest import LLAMA3_TEMPLATE

FEWSHOT = ("mednli", "meqsum", "problemsummary", "medisumqa", "medisumcode")
ALL = (*FEWSHOT, "longhealth")
SELF_PROMPTING = ("mednli", "meqsum", "problemsummary", "medisumcode")  # §2.6 step 3
Q1_TASKS = FEWSHOT  # LongHealth uses plain counters (§2.7.4)
Q23_TASKS = ("meqsum", "problemsummary", "medisumqa")
BERTSCORE_TASKS = ("meqsum", "problemsummary", "medisumqa")


def keys(kind: str, tasks) -> set[str]:
    return {f"{kind}:{t}" for t in tasks}


# field → (value to flip to from CLUE_V3's, the observations that must change)
SWITCHES: dict[str, tuple[object, set[str]]] = {
    "q1_double_count_first": ("off", keys("agg", Q1_TASKS)),
    # Q2: references and shot answers change; ROUGE ignores the comma, BERTScore sees it (spec §6)
    "q2_problemsummary_semicolons": ("strip_trailing", {"refs:problemsummary", "requests:problemsummary",
                                                        "score:problemsummary"}),
    "q3_medisumqa_prefix": (False, {"requests:medisumqa"}),
    "q4_mednli_rule": ("first_label", {"score:mednli"}),
    "q5_self_prompt_regex": ("cut_all", keys("post", SELF_PROMPTING)),
    "q6_stop": ("all_models", keys("params", ALL)),
    "q7_phi_split": ("generic", keys("post", ALL)),
    "q8_truncate": (False, keys("params", ALL)),
    "q9_double_bos": (False, keys("requests", ALL)),
    "q10_longhealth_rng": ("seeded", {"requests:longhealth"}),
    "q11_longhealth_budget": ("exact", {"requests:longhealth"}),
    "q12_longhealth_key": ("exact", {"refs:longhealth", "score:longhealth"}),
    "q13_longhealth_t23_plain": (False, {"params:longhealth", "post:longhealth"}),
    "q14_longhealth_t23_full_context": (True, {"requests:longhealth"}),
    "q15_longhealth_parser": ("tolerant", {"score:longhealth"}),
    "q16_option_hint_a_to_e": (False, {"requests:longhealth"}),
    "q17_icd_multiset": (False, {"score:medisumcode"}),
    "q18_icd_regex": ("broad", {"score:medisumcode"}),
    "q19_lenient_loaders": (False, set()),
    "q20_qa_selection": (None, set()),  # one value only (dataset construction, no corrected variant)
    "q21_qa_parser_needs_newline": (False, set()),
    "q22_temperature": (1.0, keys("params", ALL)),
    "q23_two_decimals": (True, keys("agg", Q23_TASKS)),
    "q24_bertscore_truncate_512": (True, keys("score", BERTSCORE_TASKS)),
    "q25_problemsummary_bertscore_lowercase": (False, {"score:problemsummary"}),
    "q26_shots_from_test": (False, set()),
    "q27_collect_results_x100": (True, set()),
    "q28_raw_download_urls": (False, set()),
    "q29_base_layout": ("7a16b0f", keys("requests", FEWSHOT)),
}

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
PHI = "microsoft/Phi-3-mini-128k-instruct"
TRICKY = [
    " ENTAILMENT <|end|>\nYou are an AI assistant. [INST] more\nsecond line <|eot_id|> E11.9 ",
    "neutral, not contradiction <|user|> neutral\nThe correct answer is: c",
    "The correct answer is C: the text. <|end|>",
    "contradiction <|end|> tail",
]
OUTPUTS = {
    "mednli": ["Neutral or contradiction", "ENTAILMENT. entailment", "contradiction"],
    "meqsum": ["What helps?", "How is diabetes treated?", ""],
    "problemsummary": ["Pneumonia, hypoxia", "Type 2 diabetes", ""],
    "medisumqa": ["He got a stent.", "Antibiotics", ""],
    "medisumcode": ["E11.9, E11.9, I10, U07.1, e785", "J18.9", "N39.0 and D64.9"],
    "longhealth": ["The correct answer is C: x", "The correct answer is: B", "the correct answer is c: y"],
}
AGG_ROWS = [{m: v for m in ("accuracy", "rouge1", "rouge2", "rougeL", "bertscore_p", "bertscore_r", "bertscore_f1",
                            "umls_p", "umls_r", "umls_f1", "icd_em_p", "icd_em_r", "icd_em_f1", "icd_ap_p",
                            "icd_ap_r", "icd_ap_f1", "valid_codes", "task1_acc", "task2_acc", "task3_acc")}
            for v in (100.0, 33.3333, 12.3456, 0.0)]


@pytest.fixture
def probe(synthetic_dir, monkeypatch):
    def fake_bertscore(cands, refs, **kwargs):  # the scores reflect how it was called (model, case, truncation)
        tag = sum(ord(c) for c in json.dumps(kwargs, sort_keys=True)) % 97
        return [{"bertscore_p": float(tag), "bertscore_r": float(len(c)), "bertscore_f1": float(len(r))}
                for c, r in zip(cands, refs)]

    monkeypatch.setattr(bertscore, "available", lambda: None)
    monkeypatch.setattr(bertscore, "score", fake_bertscore)
    fixed_os = types.SimpleNamespace(urandom=lambda n: (987654321).to_bytes(n, "big"))
    monkeypatch.setattr(longhealth_module, "os", fixed_os)  # Q10's "fresh" draw, for this module only
    small = LongHealth()
    small.budget = 330  # words of the fallback counter: the patient's documents no longer fit whole
    tasks = {**{n: TASKS[n] for n in FEWSHOT}, "longhealth": small}
    template = ChatTemplate(source="llama3", template=LLAMA3_TEMPLATE, special_tokens={"bos_token": "<|begin_of_text|>"})

    def observe(profile: ProtocolProfile) -> dict[str, object]:
        seen: dict[str, object] = {}
        for name, task in tasks.items():
            split = task.split(task.load(synthetic_dir), profile)
            evaluated = split.evaluated if name != "longhealth" else [s for s in split.evaluated if s.id.endswith(("t1/r0", "t2/r1", "t3/r0"))]
            builds = []
            for mode, send in (("instruct-system", "prompt"), ("base", "prompt"), ("instruct-system", "messages")):
                ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", MODEL), profile=profile,
                                   mode=mode, send=send, chat_template=template, max_position_embeddings=8192)
                builds.append(task.build(split, ctx))
            seen[f"requests:{name}"] = [(r.prompt, r.messages) for b in builds for r in b]
            seen[f"params:{name}"] = sorted({repr(r.params) for b in builds for r in b})
            seen[f"refs:{name}"] = [(s.id, s.reference) for s in split.evaluated]
            seen[f"post:{name}"] = [task.postprocess_sample(t, s, profile, m)
                                    for t in TRICKY for s in evaluated for m in (MODEL, PHI)]
            outs = [OUTPUTS[name][i % 3] for i in range(len(evaluated))]
            if name == "mednli":  # the gold label twice: wrong under "exactly one" (Q4), right as the first label
                outs[0] = f"{evaluated[0].reference.upper()}, yes: {evaluated[0].reference}"
            seen[f"score:{name}"] = task.score_all(outs, evaluated, profile)
            seen[f"agg:{name}"] = task.aggregate([{m: r[m] for m in task.metrics} for r in AGG_ROWS], profile)
        return seen

    return observe


def test_every_quirk_field_is_probed():
    quirks = {f.name for f in dataclasses.fields(ProtocolProfile) if f.name.startswith("q")}
    assert quirks == set(SWITCHES) and len(quirks) == 29


@pytest.fixture(scope="module")
def baseline_cache():
    return {}


@pytest.mark.parametrize("field", list(SWITCHES))
def test_switch_changes_only_what_it_should(probe, baseline_cache, field):
    value, expected = SWITCHES[field]
    if value is None:
        assert typing.get_args(typing.get_type_hints(ProtocolProfile)[field]) == (getattr(CLUE_V3, field),)
        return
    assert getattr(CLUE_V3, field) != value
    if "v3" not in baseline_cache:
        baseline_cache["v3"] = probe(CLUE_V3)
    before = baseline_cache["v3"]
    after = probe(dataclasses.replace(CLUE_V3, **{field: value}))
    changed = {k for k in before if before[k] != after[k]}
    assert changed == expected
