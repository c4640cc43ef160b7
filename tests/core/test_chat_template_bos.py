"""The completions route's BOS rule (issue 22, item 6): the template's leading BOS text is removed only where the
server adds that same token — asked of llama.cpp and vLLM through `/tokenize`, assumed for TGI and others as before.

Expected prompts are written out by hand (ChatML as SmolLM2 writes it, Llama 3's headers); the server answers are
shaped like llama-server's (`{"tokens": [{"id", "piece"}]}`), from the fake server's llama.cpp-like tokenizer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue.chat_template import ChatTemplate
from clue.engines.server_bos import read_answers
from tests.conftest import LLAMA3_TEMPLATE, run_clue
from tests.fakeserver import FakeServer, LlamaTokenizer

# SmolLM2-135M-Instruct's template (its GGUF's, as llama-server's /props gives it); its "BOS" is <|im_start|>
SMOL = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
        "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + "
        "message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}"
        "{{ '<|im_start|>assistant\n' }}{% endif %}")
SMOL_CONFIG = {"chat_template": SMOL, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}
SMOL_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
HI = [{"role": "user", "content": "Hi"}]
SMOL_HI = ("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
           "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
SMOL_HI_STRIPPED = ("system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def smol(answer=None) -> ChatTemplate:
    return ChatTemplate.from_config(SMOL_CONFIG, source="smol").for_server(answer)


def said(*adds: str) -> dict:
    return {"adds_in_front": list(adds)}


# -- what the server's /tokenize answers mean -------------------------------------------------------------------------
HELLO = [{"id": 19556, "piece": "Hello"}, {"id": 905, "piece": " world"}]


def test_a_server_that_puts_bos_in_front():
    got = read_answers([{"id": 1, "piece": "<|im_start|>"}, *HELLO], HELLO)
    assert got["adds_in_front"] == ["<|im_start|>"] and got["said"] == {"add_special": [1, 19556, 905], "plain": [19556, 905]}
    assert "add_special" in got["asked"] and "with_pieces" in got["asked"]


def test_a_server_that_adds_nothing():
    got = read_answers(HELLO, HELLO)
    assert got["adds_in_front"] == [] and "adds_at_end" not in got


def test_a_bos_in_front_and_an_eos_at_the_end():
    got = read_answers([{"id": 128000, "piece": "<|begin_of_text|>"}, *HELLO, {"id": 2, "piece": "</s>"}], HELLO)
    assert got["adds_in_front"] == ["<|begin_of_text|>"] and got["adds_at_end"] == ["</s>"]


def test_a_piece_sent_as_bytes_is_decoded():
    bos = {"id": 7, "piece": [0xE2, 0x96, 0x81]}  # "▁" as UTF-8 bytes: llama.cpp sends a non-UTF-8 piece this way
    assert read_answers([bos, *HELLO], HELLO)["adds_in_front"] == ["▁"]


@pytest.mark.parametrize("special, plain, why", [
    ([{"id": 1, "piece": "<s>"}, {"id": 5, "piece": "Hel"}], HELLO, "do not contain"),  # tokenized differently
    ([1, 19556, 905], [19556, 905], "did not name"),  # a server without with_pieces: bare ids, no texts
    ("not a list", HELLO, "not token lists"),
    ([], [], "not token lists"),
])
def test_answers_that_do_not_line_up_say_nothing(special, plain, why):
    got = read_answers(special, plain)
    assert got["adds_in_front"] is None and why in got["why"]


# -- the rule ---------------------------------------------------------------------------------------------------------
def test_not_asked_keeps_todays_rule_for_tgi_and_vllm():
    t = smol()
    assert t.render(HI, strip_bos=True) == SMOL_HI_STRIPPED and t.render(HI, strip_bos=False) == SMOL_HI
    record = t.bos_record(strip_bos=True)
    assert record["strip_leading_bos"] is True and record["known_from"].startswith("assumed") and "TGI" in record["known_from"]
    assert "server_said" not in record


def test_a_server_that_adds_no_bos_gets_the_template_text_whole():
    t = smol(said())
    assert t.render(HI, strip_bos=True) == SMOL_HI
    record = t.bos_record(strip_bos=True)
    assert record == {"template_bos": "<|im_start|>", "server_adds": [], "known_from": "the server's /tokenize",
                      "protocol": "one BOS: the template's BOS text is removed where the server adds that same token",
                      "strip_leading_bos": False, "server_said": {"adds_in_front": []}}


def test_a_server_that_adds_the_same_bos_gets_it_stripped():
    assert smol(said("<|im_start|>")).render(HI, strip_bos=True) == SMOL_HI_STRIPPED


def test_a_server_that_adds_another_token_or_two_is_not_stripped():
    assert smol(said("<s>")).render(HI, strip_bos=True) == SMOL_HI
    assert smol(said("<|im_start|>", "<|im_start|>")).render(HI, strip_bos=True) == SMOL_HI


def test_a_server_that_could_not_say_falls_back_to_the_assumption_and_says_so():
    t = smol({"adds_in_front": None, "why": "the server did not answer /tokenize"})
    assert t.render(HI, strip_bos=True) == SMOL_HI_STRIPPED
    record = t.bos_record(strip_bos=True)
    assert "could not say" in record["known_from"] and record["server_said"]["why"] == "the server did not answer /tokenize"


def test_the_double_bos_protocol_keeps_the_text_whatever_the_server_adds():
    for answer in (None, said(), said("<|im_start|>")):
        assert smol(answer).render(HI, strip_bos=False) == SMOL_HI
        assert smol(answer).bos_record(strip_bos=False)["strip_leading_bos"] is False


def test_llama3_with_a_server_that_adds_begin_of_text():
    t = ChatTemplate.from_config({"chat_template": LLAMA3_TEMPLATE, "bos_token": "<|begin_of_text|>", "add_bos_token": True},
                                 source="llama3")
    expected = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    assert t.for_server(said("<|begin_of_text|>")).render(HI, strip_bos=True) == expected
    assert t.for_server(said()).render(HI, strip_bos=True) == "<|begin_of_text|>" + expected
    assert t.bos_record(strip_bos=True)["tokenizer_config_add_bos_token"] is True


# -- end to end, against a fake llama.cpp server ----------------------------------------------------------------------
SPECIALS = {"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2}


def chatml(messages: list[dict]) -> str:
    """ChatML written out by hand, SmolLM2's default system turn first when the conversation has none."""
    out = "" if messages[0]["role"] == "system" else f"<|im_start|>system\n{SMOL_SYSTEM}<|im_end|>\n"
    out += "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return out + "<|im_start|>assistant\n"


def llama_fake(add_bos: bool | None, vllm: bool = False) -> FakeServer:
    """A llama.cpp-like fake (/props, /tokenize) whose model adds BOS or not (`vllm`: a vLLM-like one, /version and its
    /tokenize); None: a server the kit does not ask (neither route, like a hosted API)."""
    if add_bos is None:
        return FakeServer(model_id="m", tgi=False)
    tokenizer = LlamaTokenizer(SPECIALS, bos="<|im_start|>", add_bos=add_bos)
    if vllm:
        return FakeServer(model_id="m", tgi=False, tokenizer=tokenizer, vllm_version="0.9.2")
    return FakeServer(model_id="m", tgi=False, props={"model_path": "/m/smollm2.gguf", "bos_token": "<|im_start|>"},
                      tokenizer=tokenizer)


def run(srv: FakeServer, tmp_path: Path, out: str, *args: str) -> tuple[list[dict], dict]:
    tc = tmp_path / "tc.json"
    tc.write_text(json.dumps(SMOL_CONFIG))
    route = () if "--route" in args else ("--route", "completions", "--chat-template", str(tc))
    proc = run_clue("run", "--engine", "openai", "--endpoint", srv.url + "/v1", "--model", "m", "--synthetic", "--limit", "2",
                    "--out", str(tmp_path / out), "--store", str(tmp_path / f"{out}.sqlite"), "--no-progress", *route, *args,
                    env={"OPENAI_API_KEY": "k"})
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in (tmp_path / out / "samples.jsonl").read_text().splitlines()]
    return lines, json.loads((tmp_path / out / "run.json").read_text())


@pytest.mark.parametrize("bench, prefix", [(("--benchmark", "clinicbench", "--tasks", "medqa"), ""),
                                           (("--tasks", "meqsum", "--protocol", "corrected", "--tokenizer", "TOKENIZER"),
                                            "Question: ")],  # CLUE's generation prefix, after the rendered template
                         ids=["clinicbench-medqa", "clue-meqsum-corrected"])
def test_completions_prompts_follow_what_the_server_adds(tmp_path, bench, prefix):
    if "TOKENIZER" in bench:  # `corrected` budgets documents in tokens: any tokenizer.json does for these short items
        from tests.conftest import byte_bpe

        byte_bpe(["a small corpus for a tokenizer"]).save(str(tmp_path / "tokenizer.json"))
        bench = tuple(str(tmp_path / "tokenizer.json") if a == "TOKENIZER" else a for a in bench)
        bench += ("--max-position-embeddings", "8192")
    with llama_fake(None) as srv:
        chat, _ = run(srv, tmp_path, "chat", *bench, "--route", "chat")
    expected = [chatml(ln["prompt"]) + prefix for ln in chat]  # the chat route's messages in ChatML, by hand
    assert all(e.startswith("<|im_start|>system\n") for e in expected)
    with llama_fake(add_bos=False) as srv:
        none, rec_none = run(srv, tmp_path, "none", *bench)
        asked = list(srv.tokenize_bodies)
    with llama_fake(add_bos=True) as srv:
        adds, rec_adds = run(srv, tmp_path, "adds", *bench)
    with llama_fake(None) as srv:
        other, rec_other = run(srv, tmp_path, "other", *bench)
    assert [ln["prompt"] for ln in none] == expected  # the server adds none: the template's <|im_start|> stays
    assert [ln["prompt"] for ln in adds] == [e.removeprefix("<|im_start|>") for e in expected]  # it adds one: stripped
    assert [ln["prompt"] for ln in other] == [ln["prompt"] for ln in adds]  # not asked: today's rule, unchanged
    assert asked == [{"content": "Hello world", "add_special": True, "with_pieces": True},
                     {"content": "Hello world", "add_special": False, "with_pieces": True}]
    for record, adds_, strip in ((rec_none, [], False), (rec_adds, ["<|im_start|>"], True)):
        bos = record["chat_template"]["bos"]
        assert (bos["server_adds"], bos["strip_leading_bos"], bos["known_from"]) == (adds_, strip, "the server's /tokenize")
        assert record["engine"]["describe"]["server"]["bos"]["adds_in_front"] == adds_
    assert "adds no BOS" in rec_none["engine"]["describe"]["note"]
    assert rec_other["chat_template"]["bos"]["known_from"].startswith("assumed")
    assert "bos" not in rec_other["engine"]["describe"]["server"]


def test_v3_keeps_the_template_bos_on_every_server(tmp_path):
    with llama_fake(add_bos=False) as srv:
        none, _ = run(srv, tmp_path, "none", "--tasks", "meqsum", "--protocol", "clue-v3")
    with llama_fake(add_bos=True) as srv:
        adds, record = run(srv, tmp_path, "adds", "--tasks", "meqsum", "--protocol", "clue-v3")
    assert all(ln["prompt"].startswith("<|im_start|>system\n") for ln in none + adds)
    assert [ln["prompt"] for ln in none] == [ln["prompt"] for ln in adds]
    assert record["chat_template"]["bos"]["strip_leading_bos"] is False


def test_vllm_is_asked_at_its_own_tokenize(tmp_path):
    medqa = ("--benchmark", "clinicbench", "--tasks", "medqa")
    with llama_fake(add_bos=False, vllm=True) as srv:
        none, record = run(srv, tmp_path, "none", *medqa)
        asked = list(srv.tokenize_bodies)
    with llama_fake(add_bos=True, vllm=True) as srv:
        adds, _ = run(srv, tmp_path, "adds", *medqa)
    assert asked == [{"model": "m", "prompt": "Hello world", "add_special_tokens": True, "return_token_strs": True},
                     {"model": "m", "prompt": "Hello world", "add_special_tokens": False, "return_token_strs": True}]
    assert all(ln["prompt"].startswith("<|im_start|>system\n") for ln in none)
    assert [ln["prompt"] for ln in adds] == [ln["prompt"].removeprefix("<|im_start|>") for ln in none]
    assert record["engine"]["describe"]["server"]["kind"] == "vllm"
    assert record["chat_template"]["bos"]["server_adds"] == [] and record["chat_template"]["bos"]["strip_leading_bos"] is False
