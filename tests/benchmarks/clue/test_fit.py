"""Corrected Q8: an over-long prompt is fitted by cutting the END of the evaluated document, counted
with the model's tokenizer as the server counts (special tokens included); instructions, shots and
the generation prompt stay whole. The v3 profile instead passes TGI's keep-last `truncate`."""

from __future__ import annotations

import pytest

from clue.benchmarks.clue.protocol import CLUE_V3, CORRECTED
from clue.benchmarks.clue.tasks import TASKS
from clue.benchmarks.clue.tasks.base import render as clue_render
from clue.chat_template import ChatTemplate
from clue.tasks import BuildContext
from clue.tasks.fit import FitReport, count, fit_document
from clue.types import Endpoint
from tests.conftest import LLAMA3_TEMPLATE, byte_bpe

MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
TEMPLATE = ChatTemplate(source="llama3", template=LLAMA3_TEMPLATE, special_tokens={"bos_token": "<|begin_of_text|>"})


def bpe(corpus: list[str]):
    return byte_bpe(corpus, vocab_size=600)


def build(task_name: str, data_dir, profile, mpe: int, tokenizer):
    task = TASKS[task_name]
    split = task.split(task.load(data_dir), profile)
    ctx = BuildContext(endpoint=Endpoint("tgi", MODEL), profile=profile, mode="instruct-system", send="prompt",
                       chat_template=TEMPLATE, max_position_embeddings=mpe, tokenizer=tokenizer)
    return task, split, task.build(split, ctx)


@pytest.mark.parametrize("task_name", ["medisumcode", "medisumqa", "problemsummary", "meqsum"])
def test_corrected_cuts_the_document_end_and_keeps_the_instructions(synthetic_dir, task_name):
    task = TASKS[task_name]
    split = task.split(task.load(synthetic_dir), CORRECTED)
    fields = task.document_fields(CORRECTED)
    tok = bpe([str(s.fields[f]) for s in split.shots + split.evaluated for f in fields] * 3)
    _, _, whole = build(task_name, synthetic_dir, CORRECTED, 10**6, tok)  # fits: nothing cut
    lengths = [count(tok, r.prompt) for r in whole]
    longest = max(lengths)
    # a context where the longest prompt runs 25 tokens over the task's budget T = formula(MPE)
    budget = longest - 25
    mpe = next(m for m in range(budget, budget + 1000) if task.truncate(m) == budget)
    _, split, fitted = build(task_name, synthetic_dir, CORRECTED, mpe, tok)
    report = fitted.record
    assert report["q8"] == "cut_document" and report["budget_tokens"] == budget and report["document_fields"] == list(fields)
    assert report["documents_cut"] == sum(n > budget for n in lengths) >= 1 and report["n_unfittable"] == 0
    assert report["tokens_removed"] >= 25
    for before, after, sample in zip(whole, fitted, split.evaluated):
        assert count(tok, after.prompt) <= budget and after.params.truncate is None  # no server-side truncation
        if before.prompt == after.prompt:
            continue
        document = str(sample.fields[fields[0]])
        head, _, tail = before.prompt.partition(document)  # everything before the document is unchanged
        assert after.prompt.startswith(head)
        if len(fields) == 1:  # and everything after it
            assert after.prompt.endswith(tail)
            kept = after.prompt[len(head):len(after.prompt) - len(tail)]
            assert document.startswith(kept) and len(kept) < len(document)  # the end of the document went


def test_v3_passes_keep_last_truncate_and_sends_the_prompt_whole(synthetic_dir):
    tok = bpe(["a b c"])
    _, _, requests = build("medisumcode", synthetic_dir, CLUE_V3, 1000, tok)
    assert {r.params.truncate for r in requests} == {1000 - 200}
    assert requests.record is None


def test_a_prompt_that_cannot_fit_is_sent_whole_and_reported():
    tok = bpe(["the instructions are long and the document is short"] * 5)
    report = FitReport(budget=5, document_fields=("doc",))

    def render(fields):
        return "the instructions are long and " + fields["doc"]

    fields = {"doc": "the document is short"}
    assert fit_document(render, fields, ("doc",), tok, 5, "s1", report) == render(fields)
    assert report.unfittable == ["s1"] and report.cut == 0 and report.prompts == 1
    fitted = fit_document(render, fields, ("doc",), tok, count(tok, render({"doc": "the"})), "s2", report)
    assert fitted.startswith("the instructions are long and the") and report.cut == 1


def test_without_a_tokenizer_the_build_says_it_did_not_check(synthetic_dir):
    _, _, requests = build("medisumcode", synthetic_dir, CORRECTED, 1000, None)
    assert requests.record["checked"] is False and requests[0].params.truncate is None


def test_fields_are_cut_in_order_the_first_emptied_before_the_second():
    tok = bpe(["one two three four five six seven eight nine ten"] * 5)

    def render(fields):
        return f"Instructions. {fields['a']} | {fields['b']} | end"

    fields = {"a": "one two three", "b": "four five six seven eight nine ten"}
    whole = render(fields)
    budget = count(tok, render({"a": "", "b": "four five six"}))
    report = FitReport(budget=budget, document_fields=("a", "b"))
    fitted = fit_document(render, fields, ("a", "b"), tok, budget, "s", report)
    assert count(tok, fitted) <= budget < count(tok, whole)
    assert fitted.startswith("Instructions.  | four") and fitted.endswith(" | end")  # a emptied, b cut at its end
    assert report.cut == 1 and report.tokens_removed > 0 and not report.unfittable


def test_clue_run_corrected_sends_fitted_prompts_and_records_the_cuts(tmp_path, synthetic_dir):
    """`clue run --protocol corrected` on the TGI route: prompts counted with --tokenizer, long letters cut,
    no `truncate` sent, and run.json says how many documents were cut (the report shows it)."""
    import json

    from tests.conftest import chat_template_file, run_clue
    from tests.fakeserver import FakeServer

    task = TASKS["medisumcode"]
    split = task.split(task.load(synthetic_dir), CORRECTED)
    tok = bpe([str(s.fields["text"]) for s in split.shots + split.evaluated] * 3)
    tok.save(str(tmp_path / "tok.json"))
    _, _, whole = build("medisumcode", synthetic_dir, CORRECTED, 10**6, tok)
    budget = max(count(tok, r.prompt) for r in whole) - 40
    seen: list[str] = []

    def recording(kind, payload):
        seen.append(str(payload))
        return "E11.9"

    with FakeServer(responder=recording, model_id=MODEL, max_input_tokens=10**5, max_total_tokens=10**5 + 1) as srv:
        proc = run_clue("run", "--engine", "tgi", "--endpoint", srv.url, "--model", MODEL, "--tasks", "medisumcode",
                        "--protocol", "corrected", "--data-dir", str(synthetic_dir), "--tokenizer", str(tmp_path / "tok.json"),
                        "--chat-template", str(chat_template_file(tmp_path)), "--max-position-embeddings", str(budget + 200),
                        "--out", str(tmp_path / "run"), "--store", str(tmp_path / "s.sqlite"), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert len(seen) == len(split.evaluated) and all(count(tok, p) <= budget for p in seen)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    notes = record["task_build"]["medisumcode"]
    assert notes["q8"] == "cut_document" and notes["budget_tokens"] == budget and notes["documents_cut"] >= 1
    lines = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    assert all(ln["status"] == "ok" for ln in lines)


def test_longhealth_corrected_budget_leaves_room_for_the_chat_template(synthetic_dir):
    """LongHealth builds to a document budget; without TGI's truncate (corrected Q8) that budget is capped
    so the whole prompt, chat-template tokens included, stays within T = MPE − 50."""

    task = TASKS["longhealth"]
    split = task.split(task.load(synthetic_dir), CORRECTED)
    texts = [str(t) for s in split.evaluated for t in s.fields["texts"].values()]
    tok = bpe(texts + [clue_render("longhealth", "system")] * 20)

    def ctx_for(profile, mpe):
        return BuildContext(endpoint=Endpoint("tgi", MODEL), profile=profile, mode="instruct-system", send="prompt",
                            chat_template=TEMPLATE, max_position_embeddings=mpe, tokenizer=tok, seed=1)

    roomy = task.build(split, ctx_for(CORRECTED, 10**5))
    limit = max(count(tok, r.prompt) for r in roomy) - 150  # the fullest prompts must lose document text
    requests = task.build(split, ctx_for(CORRECTED, limit + 50))
    notes = requests.record
    assert notes["prompt_token_limit"] == limit and notes["budget_task1"] == notes["context_cap"] < limit
    assert notes["prompts_over_limit"] == 0 and all(count(tok, r.prompt) <= limit for r in requests)
    assert notes["longest_prompt_tokens"] > limit - 60  # the budget was used, not just respected
    assert all(r.params.truncate is None for r in requests)
    system = clue_render("longhealth", "system")
    assert all(system.strip() in r.prompt for r in requests)  # the instructions are whole (the template trims)
    v3 = task.build(split, ctx_for(CLUE_V3, limit + 50))
    assert "context_cap" not in v3.record and {r.params.truncate for r in v3 if r.params.stop} == {limit}
