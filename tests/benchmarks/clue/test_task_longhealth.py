"""LongHealth (spec §3.4, §4): golden prompts from the spec's literals, budgets, randomness, parsing, scoring.

Expected prompts are built from the spec's JSON literals (copied below), not from our templates.
All data is invented (ids start with SYNTHETIC); the tokenizer is a WordLevel model trained in memory.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from clue.benchmarks.clue.protocol import CLUE_2025, CLUE_V3, CORRECTED
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.base import render as clue_render
from clue.benchmarks.clue.tasks.longhealth import correct_letter, parse_answer
from clue.benchmarks.clue.tasks.longhealth_prompt import PromptText, WordCounter, create_prompt, make_counter
from clue.chat_template import ChatTemplate
from clue.errors import ConfigError, DataError
from clue.tasks import BuildContext, Split
from clue.types import Endpoint
from tests.conftest import LLAMA3_TEMPLATE

# JSON string literals copied from the spec (authoritative for whitespace).
S_LH = json.loads('"\\nYou are a highly skilled and detail-oriented assistant, specifically trained to assist medical professionals in '
                  'interpreting and extracting key information from medical documents. Your primary responsibility will be to analyze discharge '
                  'letters from hospitals. When you receive one or more of these letters, you will be expected to carefully review the contents '
                  'and accurately answer multiple-choice questions related to these documents. \\n\\nYour answers should be:\\n1. Accurate: Make '
                  'sure your answers are based on the information provided in the letters.\\n2. Concise: Provide brief and direct answers without '
                  'unnecessary elaboration.\\n3. Contextual: Consider the context and specifics of each question to provide the most relevant '
                  'information.\\n\\nRemember, your job is to streamline the physician\'s decision-making process by providing them with accurate '
                  'and relevant information from discharge summaries. Efficiency and reliability are key.\\n"')
U_LH = json.loads('"\\n--------------BEGIN DOCUMENTS--------------\\n\\n{documents}\\n\\n--------------END '
                  'DOCUMENTS--------------\\n\\n{question_text}\\n{options}\\n\\nPlease answer using the following format:\\n1. Begin your answer '
                  'with the phrase \\"The correct answer is\\".\\n2. State the letter of the correct option (e.g., A, B, C, D, E).\\n3. Follow the '
                  'letter with a colon and the exact text of the option you chose.\\n4. Make sure your answer is a single, concise '
                  'sentence.\\n\\nFor example, if the correct answer to a question is option C, and the text for C is \'Acute Bronchitis\', your '
                  'answer should be: \\n\'The correct answer is C: Acute bronchitis.\'\\n"')
OPTION_F = json.loads('"Question cannot be answered with provided documents"')
LONG_SEP = json.loads('"\\n\\n-------------- NEW DOCUMENT --------------\\n\\n"')
SEP = json.loads('"\\n\\n--------------\\n\\n"')

LH = TASKS["longhealth"]
LLAMA3 = ChatTemplate(source="llama3", template=LLAMA3_TEMPLATE, special_tokens={"bos_token": "<|begin_of_text|>"})


# --- helpers ------------------------------------------------------------------------------
def word_level_tokenizer(texts):
    """A tiny WordLevel tokenizer (whitespace/punctuation split) whose post-processor adds a BOS "<s>"."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(list(texts) + [S_LH, U_LH, OPTION_F, LONG_SEP, SEP, "{documents} {question_text} {options}"],
                            trainer=trainers.WordLevelTrainer(special_tokens=["[UNK]", "<s>"]))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return tok


class CountingTokenizer:
    """Wraps a tokenizer and counts how often each text is encoded."""

    def __init__(self, inner):
        self.inner = inner
        self.calls: Counter = Counter()

    def encode(self, text, add_special_tokens=True):
        self.calls[text] += 1
        return self.inner.encode(text, add_special_tokens=add_special_tokens)

    def decode(self, ids, skip_special_tokens=True):
        return self.inner.decode(ids, skip_special_tokens=skip_special_tokens)


def invented_text(rng: random.Random, words: int) -> str:
    vocab = [f"SYNTHETICword{i}" for i in range(300)] + ["mg", "daily", "patient", "admitted", "discharged", "."]
    lines = [" ".join(rng.choice(vocab) for _ in range(20)) for _ in range(max(1, words // 20))]
    return "\n".join(lines)


def write_big_dataset(root: Path, patients: int = 6, docs: int = 5, words: int = 2000, questions: int = 2) -> Path:
    """Invented patients with long documents (tasks exceed 8,140 tokens), in the benchmark_v5.json layout."""
    rng = random.Random(1234)
    data = {}
    for p in range(patients):
        texts = {f"text_{d}": f"SYNTHETIC document {p}-{d}.\n" + invented_text(rng, words) for d in range(docs)}
        qs = []
        for i in range(questions):
            q = {"No": i + 1, "question": f"SYNTHETIC question {i} about patient {p}?"}
            q.update({f"answer_{letter}": f"SYNTHETIC option {letter} {p}-{i}" for letter in "abcde"})
            q.update(correct=f"SYNTHETIC option b {p}-{i}", answer_location={"text_1": {"start": [0.1], "end": [0.2]},
                                                                            "text_3": {"start": [0.5], "end": [0.6]}})
            qs.append(q)
        data[f"SYNTHETIC-patient_{p:02d}"] = {"texts": texts, "name": "SYNTHETIC", "questions": qs}
    target = root / "longhealth"
    target.mkdir(parents=True, exist_ok=True)
    (target / "benchmark_v5.json").write_text(json.dumps(data))
    return root


def all_texts(data_dir: Path) -> list[str]:
    data = json.loads((data_dir / "longhealth" / "benchmark_v5.json").read_text())
    return [t for p in data.values() if isinstance(p, dict) for t in p["texts"].values()]


def ctx_for(profile, *, send="messages", mode="instruct-system", tokenizer=None, seed=None, mpe=8192,
            model="org/some-model", template=None):
    engine = "tgi" if send == "prompt" else "openai"
    return BuildContext(endpoint=Endpoint(engine, model), profile=profile, mode=mode, send=send, chat_template=template,
                        max_position_embeddings=mpe, seed=seed, tokenizer=tokenizer)


def one(split: Split, sample_id: str) -> Split:
    return Split(shots=[], evaluated=[s for s in split.evaluated if s.id == sample_id])


def user_text(request) -> str:
    return request.messages[-1]["content"]


def options_block(question: dict, labels: str) -> str:
    q = {**question, "answer_f": OPTION_F}
    return "\n".join(f"{letter.upper()}: {q['answer_' + letter]}" for letter in labels)


# --- templates and golden prompts ---------------------------------------------------------
def test_templates_are_the_spec_literals():
    assert clue_render("longhealth", "system") == S_LH
    assert clue_render("longhealth", "user", {"documents": "{documents}", "question_text": "{question_text}",
                                                 "options": "{options}"}) == U_LH
    assert clue_render("longhealth", "option_f") == OPTION_F
    assert clue_render("longhealth", "separator") == SEP
    assert clue_render("longhealth", "count_separator") == LONG_SEP


@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED, CLUE_2025], ids=lambda p: p.name)
def test_task1_prompt_matches_spec(synthetic_dir, profile):
    split = LH.split(LH.load(synthetic_dir), profile)
    sample = split.evaluated[0]
    assert sample.id == "SYNTHETIC-patient_01/q0/t1/r0" and sample.reference == "A"
    requests = LH.build(one(split, sample.id), ctx_for(profile, seed=7))
    q, texts = sample.fields["question"], sample.fields["texts"]
    docs = [texts[t] for t in q["answer_location"]] + [t for k, t in texts.items() if k not in q["answer_location"]]
    random.Random(7).shuffle(docs)
    expected = U_LH.format(documents=SEP.join(docs), question_text=q["question"], options=options_block(q, "abcde"))
    assert list(requests[0].messages) == [{"role": "system", "content": S_LH}, {"role": "user", "content": expected}]
    assert requests[0].params.max_new_tokens == 50


@pytest.mark.parametrize("subtask,rep", [(2, 1), (3, 0)])
def test_task2_and_task3_prompts_match_spec(synthetic_dir, subtask, rep):
    split = LH.split(LH.load(synthetic_dir), CORRECTED)
    sample = next(s for s in split.evaluated if s.id == f"SYNTHETIC-patient_02/q1/t{subtask}/r{rep}")
    request = LH.build(one(split, sample.id), ctx_for(CORRECTED, seed=11))[0]
    data = json.loads((synthetic_dir / "longhealth" / "benchmark_v5.json").read_text())
    q = data["SYNTHETIC-patient_02"]["questions"][1]
    others = [t for pid, p in data.items() if pid != "SYNTHETIC-patient_02" for t in p["texts"].values()]
    rng = random.Random(11)
    distractors = rng.sample(others, min(10, len(others)))
    docs = ([data["SYNTHETIC-patient_02"]["texts"][t] for t in q["answer_location"]] if subtask == 2 else []) + distractors
    rng.shuffle(docs)
    expected = U_LH.format(documents=SEP.join(docs), question_text=q["question"], options=options_block(q, "abcdef"))
    assert user_text(request) == expected
    assert "F: Question cannot be answered with provided documents" in expected and "(e.g., A, B, C, D, E)." in expected
    assert sample.reference == ("F" if subtask == 3 else "C")


def test_conversation_modes_and_tgi_generation_settings(synthetic_dir):
    split = LH.split(LH.load(synthetic_dir), CLUE_V3)
    t1 = one(split, "SYNTHETIC-patient_01/q0/t1/r0")
    t2 = one(split, "SYNTHETIC-patient_01/q0/t2/r1")
    user = user_text(LH.build(t1, ctx_for(CLUE_V3, seed=3))[0])
    merged = LH.build(t1, ctx_for(CLUE_V3, seed=3, mode="instruct"))[0]
    assert list(merged.messages) == [{"role": "user", "content": S_LH + user}] and (S_LH + user).count("key.\n\n---") == 1  # the join is "\n\n"
    base = LH.build(t1, ctx_for(CLUE_V3, seed=3, mode="base", send="prompt"))[0]
    assert base.prompt == S_LH + "\n\n\n" + user and "key.\n\n\n\n\n---" in base.prompt  # five newlines at the join
    llama = "meta-llama/Meta-Llama-3-8B-Instruct"
    r1 = LH.build(t1, ctx_for(CLUE_V3, seed=3, send="prompt", template=LLAMA3, model=llama))[0]
    assert r1.prompt == LLAMA3.render([{"role": "system", "content": S_LH}, {"role": "user", "content": user}])
    assert r1.prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")  # nothing appended
    assert r1.params.truncate == 8192 - 50 and "<|eot_id|>" in r1.params.stop
    r2 = LH.build(t2, ctx_for(CLUE_V3, seed=3, send="prompt", template=LLAMA3, model=llama))[0]
    assert r2.params.truncate is None and r2.params.stop == () and r2.params.max_new_tokens == 50  # Q13
    r2c = LH.build(t2, ctx_for(CORRECTED, seed=3, send="prompt", template=LLAMA3, model=llama))[0]
    assert r2c.params.truncate is None and r2c.params.stop  # corrected: like task 1; no server truncate (Q8), the budget fits
    with pytest.raises(ConfigError):
        LH.build(t1, ctx_for(CLUE_V3, mode="base"))  # base prompts need the tgi route


def test_every_question_expands_into_15_samples_with_one_request_each(synthetic_dir):
    samples = LH.load(synthetic_dir)
    split = LH.split(samples, CLUE_2025)
    assert split.shots == [] and len(samples) == 7 and len(split.evaluated) == 7 * 15
    ids = [s.id for s in split.evaluated]
    assert len(set(ids)) == len(ids) and all(i.startswith("SYNTHETIC") for i in ids)
    assert [s.fields["subtask"] for s in split.evaluated[:35]] == [1] * 35  # task 1 for every question first
    assert Counter(s.fields["subtask"] for s in split.evaluated) == {1: 35, 2: 35, 3: 35}
    assert all(s.reference == "F" for s in split.evaluated if s.fields["subtask"] == 3)
    requests = LH.build(split, ctx_for(CLUE_2025))
    assert [r.sample_id for r in requests] == ids


# --- budgets ------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED], ids=lambda p: p.name)
def test_prompts_respect_the_token_budget(tmp_path, profile):
    data_dir = write_big_dataset(tmp_path, patients=4, questions=1)
    tok = word_level_tokenizer(all_texts(data_dir))
    split = LH.split(LH.load(data_dir), profile)
    requests = LH.build(split, ctx_for(profile, tokenizer=tok, seed=5))
    specials = profile.q11_longhealth_budget == "original"
    n_sys = len(tok.encode(S_LH, add_special_tokens=specials).ids)
    for e in tok.encode_batch([user_text(r) for r in requests], add_special_tokens=specials):
        assert n_sys + len(e.ids) <= 8140
    record = requests.record
    assert record["token_counter"] == "model tokenizer" and record["prompts_with_cut_documents"] == len(requests)
    assert record["system_prompt_tokens"] == n_sys


def test_original_rule_cuts_with_bos_text_and_appends_an_empty_document():
    tok = word_level_tokenizer(["alpha beta gamma delta epsilon zeta eta theta iota kappa"])
    text = PromptText(fill=lambda d, q, o: U_LH.format(documents=d, question_text=q, options=o), separator=SEP,
                      count_separator=LONG_SEP)
    counter = make_counter(tok, "original")
    fixed = counter.count("q") + counter.count("A: x") + counter.count(U_LH)
    answer = ["alpha beta gamma delta epsilon zeta"]  # 7 tokens with the BOS
    built = create_prompt(answer, ["theta iota"], "q", "A: x", fixed + 4, counter, random.Random(0), text, "original")
    assert sorted(built.documents) == ["", "<s> alpha beta gamma"]  # cut to 4 tokens incl. BOS, then an empty document
    exact_counter = make_counter(tok, "exact")
    fixed = exact_counter.count_once(U_LH.format(documents="", question_text="q", options="A: x"))
    exact = create_prompt(answer, ["theta iota"], "q", "A: x", fixed + 3, exact_counter, random.Random(0), text, "exact")
    assert exact.documents == ["alpha beta gamma"] and exact.cut  # no BOS text, no empty document


def test_tasks_2_and_3_use_the_full_context_under_q14(synthetic_dir):
    split = LH.split(LH.load(synthetic_dir), CLUE_2025)
    tok = word_level_tokenizer(all_texts(synthetic_dir))
    rec = LH.build(split, ctx_for(CLUE_2025, tokenizer=tok, mpe=32768)).record
    assert (rec["budget_task1"], rec["budget_task23"]) == (8140, 32768)
    rec = LH.build(split, ctx_for(CLUE_V3, tokenizer=tok, mpe=32768)).record
    assert rec["budget_task23"] == 8140
    with pytest.raises(ConfigError, match="max-position-embeddings"):
        LH.build(split, ctx_for(CLUE_2025, tokenizer=tok, mpe=None))
    rec = LH.build(split, ctx_for(CLUE_2025, mpe=None)).record  # word-count fallback (baseline/demo): 8,140 and a note
    assert rec["budget_task23"] == 8140 and rec["notes"]


def test_word_count_fallback_is_used_and_recorded(tmp_path):
    data_dir = write_big_dataset(tmp_path, patients=3, docs=5, words=2000, questions=1)
    split = LH.split(LH.load(data_dir), CORRECTED)
    requests = LH.build(split, ctx_for(CORRECTED))
    assert requests.record["token_counter"] == "word-count fallback"
    for r in requests:
        assert len(S_LH.split()) + len(user_text(r).split()) <= 8140
    counter = WordCounter(True)
    assert counter.count("one  two\nthree") == 3 and counter.cut("one  two\nthree four", 3) == "one  two\nthree"
    assert counter.cut("one two", 0) == "" and counter.cut("one two", 9) == "one two"


@pytest.mark.parametrize("profile", [CLUE_V3, CORRECTED], ids=lambda p: p.name)
def test_each_document_is_encoded_once_per_run(tmp_path, profile):
    data_dir = write_big_dataset(tmp_path, patients=4, docs=5, words=1500, questions=2)
    tok = CountingTokenizer(word_level_tokenizer(all_texts(data_dir)))
    LH.build(LH.split(LH.load(data_dir), profile), ctx_for(profile, tokenizer=tok, seed=2))
    documents = all_texts(data_dir)
    assert all(tok.calls[d] == 1 for d in documents)
    assert tok.calls[S_LH] == 1 and max(tok.calls.values()) == 1


# --- randomness -----------------------------------------------------------------------------
def test_seeded_prompts_are_deterministic_and_depend_on_the_seed(tmp_path):
    data_dir = write_big_dataset(tmp_path, patients=5, docs=5, words=200, questions=2)
    split = LH.split(LH.load(data_dir), CORRECTED)
    built = LH.build(split, ctx_for(CORRECTED))
    first = [r.key for r in built]
    assert built.record["rng"] == "seeded" and built.record["rng_seed"] == CORRECTED.seed
    again = [r.key for r in LH.build(split, ctx_for(CORRECTED))]
    other = LH.build(split, ctx_for(CORRECTED, seed=1))
    assert first == again and other.record["rng_seed"] == 1
    assert sum(a != b.key for a, b in zip(first, other)) > len(first) // 2


def test_unseeded_mode_draws_and_records_a_fresh_seed_that_replays(tmp_path, monkeypatch):
    import clue.benchmarks.clue.tasks.longhealth as module

    data_dir = write_big_dataset(tmp_path, patients=4, docs=4, words=100, questions=1)
    split = LH.split(LH.load(data_dir), CLUE_V3)
    monkeypatch.setattr(module.os, "urandom", lambda n: (123456789).to_bytes(n, "big"))
    built = LH.build(split, ctx_for(CLUE_V3))
    run1 = [user_text(r) for r in built]
    assert built.record["rng"] == "unseeded" and built.record["rng_seed"] == 123456789
    assert built.record["rng_seed_source"].startswith("fresh")
    monkeypatch.setattr(module.os, "urandom", lambda n: (42).to_bytes(n, "big"))
    run2 = [user_text(r) for r in LH.build(split, ctx_for(CLUE_V3))]
    replay = [user_text(r) for r in LH.build(split, ctx_for(CLUE_V3, seed=123456789))]
    assert run1 != run2 and replay == run1


def test_seed_zero_follows_cpythons_global_random_stream(synthetic_dir):
    """The vLLM era seeded Python's global RNG with 0 (§4.3): our instance gives the same draws."""
    split = LH.split(LH.load(synthetic_dir), CLUE_2025)
    unit = one(split, "SYNTHETIC-patient_03/q1/t2/r1")
    user = user_text(LH.build(unit, ctx_for(CLUE_2025))[0])
    f = unit.evaluated[0].fields
    random.seed(0)
    docs = [f["texts"][t] for t in f["question"]["answer_location"]] + random.sample(list(f["other_texts"]), 4)
    random.shuffle(docs)
    assert SEP.join(docs) in user


# --- parsing and scoring --------------------------------------------------------------------
@pytest.mark.parametrize("text,strict,tolerant", [
    ("The correct answer is C: Apixaban.", "C", "C"),
    ("Sure. The correct answer is B: x. The correct answer is C: y", "B", "B"),  # first match
    ("The correct answer is: C", None, "C"),
    ("The correct answer is c: apixaban", "c", "C"),
    ("the correct answer is C: x", None, "C"),
    ("The correct answer is C", None, "C"),
    ("The correct answer is **D: x**", None, "D"),
    ("The correct answer is Apixaban", None, None),
    ("I think it is C.", None, None),
])
def test_answer_parsing_strict_and_tolerant(text, strict, tolerant):
    assert parse_answer(text, CLUE_V3) == strict
    assert parse_answer(text, CORRECTED) == tolerant


def test_correct_letter_rules():
    q = {"question": "?", "answer_a": "Aspirin and clopidogrel", "answer_b": "Aspirin", "answer_c": "x",
         "correct": "Aspirin", "answer_location": {}, "answer_d": "Aspirin 100 mg"}
    assert correct_letter(q, "last_substring") == "D"  # TGI: the last option containing the text
    assert correct_letter(q, "first_substring") == "A"  # vLLM: the first
    assert correct_letter(q, "exact") == "B"
    assert correct_letter({**q, "correct": "none"}, "exact") is None
    with_f = {**q, "correct": "documents", "answer_f": OPTION_F}  # tasks 2/3 see option F too
    assert correct_letter(with_f, "last_substring") == "F"


def test_synthetic_q12_case_differs_between_eras(synthetic_dir):
    samples = LH.load(synthetic_dir)
    gold = {p.name: {s.id: s.reference for s in LH.split(samples, p).evaluated} for p in (CLUE_V3, CLUE_2025, CORRECTED)}
    sid = "SYNTHETIC-patient_01/q2/t1/r0"
    assert (gold["clue-v3"][sid], gold["clue-2025"][sid], gold["corrected"][sid]) == ("C", "B", "B")


def test_scores_task3_rule_and_plain_per_subtask_means(synthetic_dir):
    split = LH.split(LH.load(synthetic_dir), CLUE_V3)
    by_id = {s.id: s for s in split.evaluated}
    t1, t2, t3 = (by_id[f"SYNTHETIC-patient_01/q0/t{n}/r{r}"] for n, r in ((1, 0), (2, 1), (3, 0)))
    assert LH.score("The correct answer is A: Ampicillin/sulbactam", t1, CLUE_V3) == {"task1_acc": 100.0}
    assert LH.score("The correct answer is: A", t1, CLUE_V3) == {"task1_acc": 0.0}
    assert LH.score("The correct answer is A: x", t2, CLUE_V3) == {"task2_acc": 100.0}
    assert LH.score("The correct answer is A: x", t3, CLUE_V3) == {"task3_acc": 0.0}
    assert LH.score("The correct answer is F: Question cannot be answered", t3, CLUE_V3) == {"task3_acc": 100.0}
    per = [{"task1_acc": 100.0}, {"task1_acc": 0.0}, {"task1_acc": 0.0}, {"task2_acc": 100.0}, {"task3_acc": 0.0}]
    assert LH.aggregate(per, CLUE_V3) == {"task1_acc": pytest.approx(100 / 3), "task2_acc": 100.0, "task3_acc": 0.0}
    assert LH.aggregate([], CLUE_2025) == {"task1_acc": None, "task2_acc": None, "task3_acc": None}


def test_postprocess_phi_split_only_for_task1_under_q13(synthetic_dir):
    split = LH.split(LH.load(synthetic_dir), CLUE_V3)
    t1, t3 = split.evaluated[0], next(s for s in split.evaluated if s.fields["subtask"] == 3)
    out = "The correct answer is A: x <|end|> The correct answer is B: y [INST] You are an AI"
    assert LH.postprocess_sample(out, t1, CLUE_V3, "microsoft/Phi-3-mini-128k-instruct") == "The correct answer is A: x"
    assert LH.postprocess_sample(out, t3, CLUE_V3, "microsoft/Phi-3-mini-128k-instruct") == out
    assert LH.postprocess(out, CLUE_V3, "org/other") == out  # no self-prompt regex for LongHealth


def test_baseline_answers_the_longest_offered_option(synthetic_dir):
    split = LH.split(LH.load(synthetic_dir), CLUE_V3)
    t1 = split.evaluated[0]
    t2 = next(s for s in split.evaluated if s.fields["subtask"] == 2)
    assert LH.baseline(t1, []) == "The correct answer is C: Piperacillin/tazobactam"
    assert LH.baseline(t2, []) == "The correct answer is F: " + OPTION_F
    assert LH.score(LH.baseline(t1, []), t1, CLUE_V3) == {"task1_acc": 0.0}


# --- data -----------------------------------------------------------------------------------
def test_synthetic_file_has_the_benchmark_layout(synthetic_dir):
    data = json.loads((synthetic_dir / "longhealth" / "benchmark_v5.json").read_text())
    assert len(data) == 3 and all(pid.startswith("SYNTHETIC") for pid in data)
    for patient in data.values():
        assert len(patient["texts"]) == 2 and 2 <= len(patient["questions"]) <= 3
        assert {"name", "birthday", "diagnosis", "canaray-string"} <= set(patient)


def test_loader_errors_name_the_problem(tmp_path, synthetic_dir):
    with pytest.raises(DataError, match="benchmark_v5.json is missing"):
        LH.load(tmp_path / "nothing")
    path = synthetic_dir / "longhealth" / "benchmark_v5.json"
    data = json.loads(path.read_text())
    data["canary"] = "a top-level string is skipped"
    path.write_text(json.dumps(data))
    assert len(LH.load(synthetic_dir)) == 7
    del data["SYNTHETIC-patient_02"]["questions"][1]["correct"]
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=r"'SYNTHETIC-patient_02' question 1 lacks field\(s\) correct"):
        LH.load(synthetic_dir)
    data["SYNTHETIC-patient_02"]["questions"][1]["correct"] = "x"
    data["SYNTHETIC-patient_02"]["questions"][1]["answer_location"] = {"text_9": {}}
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match="unknown text"):
        LH.load(synthetic_dir)
    path.write_text("[1, 2]")
    with pytest.raises(DataError, match="not a JSON object"):
        LH.load(synthetic_dir)


def test_option_hint_lists_f_only_when_q16_is_off(synthetic_dir):
    from dataclasses import replace

    profile = replace(CORRECTED, q16_option_hint_a_to_e=False)
    split = LH.split(LH.load(synthetic_dir), profile)
    units = Split([], [split.evaluated[0], next(s for s in split.evaluated if s.fields["subtask"] == 2)])
    t1, t2 = (user_text(r) for r in LH.build(units, ctx_for(profile)))
    assert "(e.g., A, B, C, D, E)." in t1 and "(e.g., A, B, C, D, E, F)." in t2


def test_baseline_run_end_to_end(tmp_path):
    from tests.conftest import run_clue

    out = tmp_path / "run"
    proc = run_clue("run", "--engine", "baseline", "--tasks", "longhealth", "--synthetic", "--protocol", "clue-v3",
                    "--out", str(out), "--store", str(tmp_path / "store.sqlite"), "--seed", "5")
    assert proc.returncode == 0, proc.stderr
    assert "LongHealth documents drawn with seed 5" in proc.stderr
    metrics = json.loads((out / "scores.json").read_text())["tasks"]["longhealth"]["metrics"]
    assert set(metrics) == {"task1_acc", "task2_acc", "task3_acc"} and metrics["task3_acc"] == 100.0
    lines = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == 105 and all(ln["status"] == "ok" for ln in lines)
