"""Hosted and commercial APIs against the loopback fake: model-family rules (reasoning models),
fail-fast on systematic rejections, empty / length-cut answers counted, Azure classic deployments,
the /v1/completions route with the client-rendered prompt, and chat prefill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue.engines.families import body_fields, family_for
from clue.errors import ConfigError
from clue.types import GenParams
from tests.conftest import chat_template_file, run_clue
from tests.core.test_e2e import invented_meqsum, meqsum_oracle
from tests.fakeserver import FakeServer

P = GenParams(max_new_tokens=200, stop=("\n\n",), seed=42)


@pytest.mark.parametrize("model,family", [
    ("o1-mini", "openai-reasoning"), ("o3", "openai-reasoning"), ("o4-mini-2025-04-16", "openai-reasoning"),
    ("gpt-5.1", "openai-reasoning"), ("openai/gpt-5-mini", "openai-reasoning"), ("gpt-4o", "openai-compatible"),
    ("claude-sonnet-4-5", "anthropic"), ("mistral-large-latest", "mistral"), ("gemini-2.5-flash", "gemini"),
    ("meta-llama/Meta-Llama-3-8B-Instruct", "openai-compatible"), ("o1x-custom", "openai-compatible"),
])
def test_family_from_model_name(model, family):
    assert family_for(model).name == family


def test_reasoning_rules_and_record():
    plan = body_fields("o3-mini", P, reasoning_effort="low")
    assert plan.fields == {"max_completion_tokens": 200, "seed": 42, "reasoning_effort": "low"}
    assert set(plan.record["dropped"]) == {"temperature", "stop"} and plan.record["renamed"] == {"max_new_tokens": "max_completion_tokens"}
    assert body_fields("gpt-5.1", P, reasoning_effort="none").fields["temperature"] == 0.0  # accepted with effort none
    plain = body_fields("gpt-4o", P).fields
    assert plain == {"max_tokens": 200, "temperature": 0.0, "stop": ["\n\n"], "seed": 42}
    assert body_fields("mistral-small", P).fields["random_seed"] == 42
    assert "seed" not in body_fields("gemini-2.0-flash", P).fields
    assert body_fields("claude-x", GenParams(max_new_tokens=5, temperature=1.5)).fields["temperature"] == 1.0
    assert body_fields("claude-x", P).fields.get("stop") is None and "seed" not in body_fields("claude-x", P).fields
    assert body_fields("claude-x", GenParams(max_new_tokens=5, stop=("\n\n", "###"))).fields["stop"] == ["###"]
    assert body_fields("gpt-4o", P, family="openai-reasoning").record["family"] == "openai-reasoning"
    with pytest.raises(ConfigError, match="applies to reasoning models"):
        body_fields("gpt-4o", P, reasoning_effort="low")
    with pytest.raises(ConfigError, match="unknown model family"):
        body_fields("gpt-4o", P, family="nope")


def _run(srv_url: str, tmp_path: Path, data: Path, model: str, *extra: str, out: str = "run", engine: str = "openai",
         env: dict | None = None):
    endpoint = srv_url if engine == "azure" else srv_url + "/v1"
    return run_clue("run", "--engine", engine, "--endpoint", endpoint, "--model", model, "--tasks", "meqsum",
                    "--data-dir", str(data), "--out", str(tmp_path / out), "--store", str(tmp_path / f"{out}.sqlite"),
                    "--no-progress", "--max-attempts", "2", "--retry-base", "0.001", *extra, env=env)


def _lines(run_dir: Path) -> list[dict]:
    return [json.loads(ln) for ln in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_reasoning_model_run_sends_the_right_parameters(tmp_path):
    data = invented_meqsum(tmp_path, n=13)
    with FakeServer(responder=meqsum_oracle(data), model_id="o4-mini", reasoning=True) as srv:
        proc = _run(srv.url, tmp_path, data, "o4-mini", "--reasoning-effort", "low")
        bodies = srv.bodies
    assert proc.returncode == 0, proc.stderr
    assert len(bodies) == 10 and all("max_tokens" not in b and "temperature" not in b and "stop" not in b
                                     and b["max_completion_tokens"] == 200 and b["reasoning_effort"] == "low" for b in bodies)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["request_parameters"]["meqsum"]["family"] == "openai-reasoning"
    assert "temperature" in record["request_parameters"]["meqsum"]["dropped"]
    lines = _lines(tmp_path / "run")
    assert all(ln["usage"]["reasoning_tokens"] == 16 for ln in lines)
    assert json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["meqsum"]["metrics"]["rougeL"] == 100.0


def test_budget_eaten_by_reasoning_is_counted_not_hidden(tmp_path):
    data = invented_meqsum(tmp_path, n=8)
    with FakeServer(responder=meqsum_oracle(data), model_id="o3", reasoning=True) as srv:
        proc = _run(srv.url, tmp_path, data, "o3", "--reasoning-effort", "high")  # 256 reasoning tokens > 200
    assert proc.returncode == 0, proc.stderr
    assert "5 empty answers, 5 cut at the token limit" in proc.stdout
    task = json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["meqsum"]
    assert task["n_empty"] == 5 and task["n_length"] == 5 and task["n_scored"] == 5  # scored as the model's answer
    assert all(ln["status"] == "ok" and ln["raw_output"] == "" and ln["finish_reason"] == "length" for ln in _lines(tmp_path / "run"))


def test_systematic_400_stops_after_a_handful(tmp_path):
    data = invented_meqsum(tmp_path, n=63)
    with FakeServer(responder=meqsum_oracle(data), model_id="o3", reasoning=True) as srv:
        # the generic family sends max_tokens and temperature 0: the reasoning model rejects every request
        proc = _run(srv.url, tmp_path, data, "o3", "--model-family", "openai-compatible", "--concurrency", "16")
        sent = srv.stats.requests
    assert proc.returncode == 2 and sent == 3, (sent, proc.stderr)
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and "rejected the first 3 requests alike" in err[0] and "max_completion_tokens" in err[0]


def test_mixed_rejections_do_not_stop_the_run(tmp_path):
    data = invented_meqsum(tmp_path, n=13)
    plan = ["400", None] + [None] * 20
    with FakeServer(responder=meqsum_oracle(data), model_id="gpt-4o", fault_plan=plan) as srv:
        proc = _run(srv.url, tmp_path, data, "gpt-4o", "--max-failures", "1")
        sent = srv.stats.requests
    assert proc.returncode == 0 and sent == 10, proc.stderr


def test_azure_classic_deployment(tmp_path):
    data = invented_meqsum(tmp_path, n=8)
    env = {"AZURE_OPENAI_API_KEY": "az-key-123"}
    with FakeServer(responder=meqsum_oracle(data), model_id="my-gpt4o-deployment", api_key="az-key-123") as srv:
        ok = _run(srv.url, tmp_path, data, "my-gpt4o-deployment", engine="azure", env=env)
        wrong = _run(srv.url, tmp_path, data, "not-deployed", engine="azure", env=env, out="wrong")
        bad_key = _run(srv.url, tmp_path, data, "my-gpt4o-deployment", engine="azure", out="badkey",
                       env={"AZURE_OPENAI_API_KEY": "nope"})
        bodies = srv.bodies
    assert ok.returncode == 0, ok.stderr
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["engine"]["describe"]["api_version"] and record["engine"]["describe"]["deployment"] == "my-gpt4o-deployment"
    assert wrong.returncode == 2 and "no deployment 'not-deployed'" in wrong.stderr and "api-version" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    assert bad_key.returncode == 2 and "AZURE_OPENAI_API_KEY" in bad_key.stderr
    assert len(bodies) >= 5


def test_azure_detected_from_the_url():
    from clue.engines import resolve_engine

    assert resolve_engine("openai", "https://res.openai.azure.com/") == "azure"
    assert resolve_engine("openai", "https://res.openai.azure.com/openai/v1/") == "openai"  # v1: the plain engine
    assert resolve_engine("openai", "http://127.0.0.1:8000/v1") == "openai"


def test_completions_route_sends_the_rendered_v3_prompt(tmp_path):
    data = invented_meqsum(tmp_path, n=8)
    template = chat_template_file(tmp_path)
    with FakeServer(responder=meqsum_oracle(data), model_id="m") as srv:
        proc = _run(srv.url, tmp_path, data, "m", "--route", "completions", "--chat-template", str(template))
        tgi = run_clue("run", "--engine", "tgi", "--endpoint", srv.url, "--model", "m", "--tasks", "meqsum",
                       "--data-dir", str(data), "--out", str(tmp_path / "tgi"), "--store", str(tmp_path / "t.sqlite"),
                       "--no-progress", "--chat-template", str(template))
        bodies = srv.bodies
    assert proc.returncode == 0 and tgi.returncode == 0, proc.stderr + tgi.stderr
    sent = [b["prompt"] for b in bodies if "prompt" in b]
    tgi_prompts = [b["inputs"] for b in bodies if "inputs" in b]
    assert len(sent) == 5 and sorted(sent) == sorted(tgi_prompts)  # byte-identical to TGI's native route
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["route"] == "completions" and record["prompts_byte_identical"] is True
    assert {ln["prompt_hash"] for ln in _lines(tmp_path / "run")} == {ln["prompt_hash"] for ln in _lines(tmp_path / "tgi")}


def test_chat_prefill_sends_the_prefix_to_continue(tmp_path):
    data = invented_meqsum(tmp_path, n=6)
    with FakeServer(responder=meqsum_oracle(data), model_id="m") as srv:
        proc = _run(srv.url, tmp_path, data, "m", "--prefill")
        bodies = srv.bodies
    assert proc.returncode == 0, proc.stderr
    assert all(b["messages"][-1]["role"] == "assistant" and b["continue_final_message"] is True
               and b["add_generation_prompt"] is False for b in bodies)
    assert "final assistant message" in json.loads((tmp_path / "run" / "run.json").read_text())["prefill"]


def _prices(tmp_path: Path, model: str) -> Path:
    path = tmp_path / "prices.yaml"
    path.write_text(f"prices:\n  {model}:\n    input: 1000.0\n    output: 2000.0\n")  # USD per 1M tokens (a test price)
    return path


def test_max_cost_stops_the_run_and_a_rerun_continues(tmp_path):
    data = invented_meqsum(tmp_path, n=43)
    prices = _prices(tmp_path, "gpt-4o")
    with FakeServer(responder=meqsum_oracle(data), model_id="gpt-4o", latency_s=0.05) as srv:
        # ~30 prompt words ~ $0.03 and ~8 answer words ~ $0.016 per request: $0.20 buys a handful of the 40
        capped = _run(srv.url, tmp_path, data, "gpt-4o", "--max-cost", "0.2", "--prices", str(prices), "--concurrency", "2")
        sent = srv.stats.completed
        assert not (tmp_path / "run" / "scores.json").exists()
        rest = _run(srv.url, tmp_path, data, "gpt-4o", "--prices", str(prices), "--concurrency", "2")
        total = srv.stats.completed
    assert capped.returncode == 3 and "--max-cost 0.2 USD reached" in capped.stderr, capped.stderr
    assert 2 <= sent < 40
    assert rest.returncode == 0 and total == 40  # nothing paid twice
    unpriced = _run("http://127.0.0.1:9", tmp_path, data, "other-model", "--max-cost", "1", out="x")
    assert unpriced.returncode == 2 and "lacks" in unpriced.stderr


def test_dry_run_estimates_without_a_server(tmp_path):
    data = invented_meqsum(tmp_path, n=13)
    prices = _prices(tmp_path, "gpt-4o")
    with FakeServer() as srv:
        closed = srv.url  # the port is closed once the server stops
    proc = _run(closed, tmp_path, data, "gpt-4o", "--dry-run", "--prices", str(prices))
    assert proc.returncode == 0, proc.stderr
    assert "dry run without a server" in proc.stderr
    assert "approximation: characters / 4" in proc.stdout and "est. $" in proc.stdout and "at most 2,000 completion tokens" in proc.stdout
    est = json.loads((tmp_path / "run" / "plan.json").read_text())["plan"]["meqsum"]["estimate"]
    assert est["prompt_tokens"] > 0 and est["usd_max"] > est["usd_prompt"] > 0


def test_verify_notes_prompts_that_are_not_byte_identical(tmp_path):
    from tests.core.test_report_fixtures import verified

    data = invented_meqsum(tmp_path, n=6)
    with FakeServer(responder=meqsum_oracle(data), model_id="meta-llama/Meta-Llama-3-8B-Instruct") as srv:
        proc = _run(srv.url, tmp_path, data, "meta-llama/Meta-Llama-3-8B-Instruct")
    assert proc.returncode == 0, proc.stderr
    checks = verified(tmp_path / "run", replicates=20)
    assert checks and all("not byte-identical" in c.note for c in checks)


def test_batch_run_submitted_then_collected_by_a_second_invocation(tmp_path):
    data = invented_meqsum(tmp_path, n=13)
    with FakeServer(responder=meqsum_oracle(data), model_id="o4-mini", reasoning=True) as srv:
        first = _run(srv.url, tmp_path, data, "o4-mini", "--batch")
        assert first.returncode == 75 and "submitted with 10 request(s)" in first.stderr, first.stderr
        state = json.loads((tmp_path / "run" / "batch.json").read_text())
        assert srv.stats.requests == 0 and len(srv.batches) == 1  # nothing sent live
        line = json.loads(srv.files[state["input_file_id"]].decode().splitlines()[0])
        assert line["url"] == "/v1/chat/completions" and "max_completion_tokens" in line["body"]  # the family's rules
        second = _run(srv.url, tmp_path, data, "o4-mini", "--batch")
        live = srv.stats.requests
    assert second.returncode == 0, second.stderr
    assert live == 0 and "10 cached" in second.stdout  # every answer came from the batch, through the store
    assert json.loads((tmp_path / "run" / "scores.json").read_text())["tasks"]["meqsum"]["metrics"]["rougeL"] == 100.0
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["batch"]["status"] == "completed" and record["batch"]["stored"] == 10
    assert not (tmp_path / "run" / "batch.json").exists()


def test_list_shaped_error_bodies_give_their_message():
    from clue.engines.base import server_message

    body = '[{"error": {"code": 400, "message": "Invalid JSON payload received. Unknown name \\"seed\\"", "status": "INVALID_ARGUMENT"}}]'
    assert server_message(body) == 'Invalid JSON payload received. Unknown name "seed"'


def test_llama_cpp_prefill_echo_is_cut_and_provenance_recorded(tmp_path):
    """llama-server answers a continued assistant message with the prefix included; the kit keeps the generated part."""
    data = invented_meqsum(tmp_path, n=5)
    answer = lambda kind, payload: "Question: What helps knee pain?"
    with FakeServer(responder=answer, model_id="m", tgi=False, props={"model_path": "/m/x.gguf", "build_info": "b1-abc"}) as srv:
        llama = _run(srv.url, tmp_path, data, "m", "--prefill", out="llama")
    with FakeServer(responder=answer, model_id="m", tgi=False) as srv:
        other = _run(srv.url, tmp_path, data, "m", "--prefill", out="other")
    assert llama.returncode == 0 and other.returncode == 0, llama.stderr + other.stderr
    assert {ln["raw_output"] for ln in _lines(tmp_path / "llama")} == {"What helps knee pain?"}
    assert {ln["raw_output"] for ln in _lines(tmp_path / "other")} == {"Question: What helps knee pain?"}
    record = json.loads((tmp_path / "llama" / "run.json").read_text())
    server = record["engine"]["describe"]["server"]
    assert server["kind"] == "llama.cpp" and server["props"]["build_info"] == "b1-abc"
    assert record["engine"]["system_fingerprints"] == ["3.3.7-native"]


def test_azure_v1_deployment_names_are_not_checked_against_models():
    import asyncio

    from clue.engines.openai_api import OpenAIEngine

    engine = OpenAIEngine("https://res.openai.azure.com/openai/v1", "my-deployment", api_key="k")
    assert engine._azure_v1() and not OpenAIEngine("http://127.0.0.1:1/v1", "m", api_key="k")._azure_v1()
    asyncio.run(engine.close())


def test_reasoning_effort_on_a_plain_model_is_one_line_and_sends_nothing(tmp_path):
    data = invented_meqsum(tmp_path, n=5)
    with FakeServer(model_id="gpt-4o") as srv:
        proc = _run(srv.url, tmp_path, data, "gpt-4o", "--reasoning-effort", "low")
        sent = srv.stats.requests
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and sent == 0 and len(err) == 1 and "applies to reasoning models" in err[0]


def test_azure_completions_route_goes_to_the_deployment_with_the_rendered_prompt(tmp_path):
    """Azure on the kit's own body + transport: deployment path, api-version query, api-key header, both routes."""
    data = invented_meqsum(tmp_path, n=5)
    template = chat_template_file(tmp_path)
    env = {"AZURE_OPENAI_API_KEY": "az-key-123"}
    with FakeServer(responder=meqsum_oracle(data), model_id="dep", api_key="az-key-123") as srv:
        proc = _run(srv.url, tmp_path, data, "dep", "--route", "completions", "--chat-template", str(template),
                    engine="azure", env=env)
        bodies = srv.bodies
    assert proc.returncode == 0, proc.stderr
    assert bodies and all("prompt" in b and "messages" not in b and b["model"] == "dep" for b in bodies)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["route"] == "completions" and record["engine"]["describe"]["route"] == "completions"
