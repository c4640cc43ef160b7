"""The openai engine's request bodies are exactly what the OpenAI SDK sends for the same arguments."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest

from clue.engines import openai_body
from clue.types import Endpoint, GenParams, Request

MESSAGES = ({"role": "system", "content": "You are a doctor."}, {"role": "user", "content": "Summarise: pain é 🩺\n\"x\""},
            {"role": "assistant", "content": "Question: "}, {"role": "user", "content": "again"})
PARAMS = [GenParams(max_new_tokens=200), GenParams(max_new_tokens=16, stop=("\n", "###"), temperature=0.7, seed=3),
          GenParams(max_new_tokens=1, temperature=0.0, seed=0)]


def _request(params: GenParams, *, prompt: str | None = None) -> Request:
    return Request(task="meqsum", sample_id="1", params=params, protocol="clue-v3", endpoint=Endpoint("openai", "m"),
                   prompt=prompt, messages=None if prompt is not None else MESSAGES)


def _sdk_kwargs(p: GenParams) -> dict:
    kwargs = {"max_tokens": p.max_new_tokens, "temperature": p.temperature if p.temperature is not None else 0.0}
    if p.stop:
        kwargs["stop"] = list(p.stop)
    if p.seed is not None:
        kwargs["seed"] = p.seed
    return kwargs


async def _sdk_sends(call) -> tuple[str, dict]:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})

    client = openai.AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0,
                                http_client=openai.DefaultAsyncHttpxClient(transport=httpx2.MockTransport(handler)))
    try:
        await call(client)
    finally:
        await client.close()
    (request,) = seen
    return request.url.path, json.loads(request.content)


@pytest.mark.anyio
@pytest.mark.parametrize("params", PARAMS)
async def test_chat_body_equals_what_the_sdk_sends(params):
    path, sent = await _sdk_sends(lambda c: c.chat.completions.create(model="m", messages=[dict(m) for m in MESSAGES],
                                                                      **_sdk_kwargs(params)))
    ours_path, ours = openai_body.route("m", _request(params))
    assert path == "/v1" + ours_path == "/v1/chat/completions"
    assert ours == sent


@pytest.mark.anyio
@pytest.mark.parametrize("params", PARAMS)
async def test_completion_body_equals_what_the_sdk_sends(params):
    prompt = "<|begin_of_text|>Summarise: pain\nQuestion: "
    path, sent = await _sdk_sends(lambda c: c.completions.create(model="m", prompt=prompt, **_sdk_kwargs(params)))
    ours_path, ours = openai_body.route("m", _request(params, prompt=prompt))
    assert path == "/v1" + ours_path == "/v1/completions"
    assert ours == sent


def test_batch_line_carries_the_same_body_and_the_cache_key():
    request = _request(PARAMS[1])
    line = openai_body.batch_line("m", request)
    assert line == {"custom_id": request.key, "method": "POST", "url": "/v1/chat/completions",
                    "body": openai_body.chat_body("m", request)}


@pytest.mark.parametrize("payload", [{}, {"choices": []}, {"choices": [{"message": None}]}, [1], {"choices": [{"message": {"content": 3}}]}])
def test_malformed_answers_are_value_errors(payload):
    with pytest.raises(ValueError):
        openai_body.parse_choice(payload, chat=True)


def test_parse_choice_reads_text_reason_and_usage():
    chat = {"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
    assert openai_body.parse_choice(chat, chat=True) == ("hi", "stop", {"prompt_tokens": 3, "completion_tokens": 1})
    assert openai_body.parse_choice({"choices": [{"text": "yo", "finish_reason": None}]}, chat=False) == ("yo", None, {})


@pytest.mark.anyio
async def test_family_rules_feed_the_body_and_it_equals_what_the_sdk_sends():
    """A reasoning model through the engine's one assembly point: max_completion_tokens, no temperature/stop,
    reasoning_effort; a prefilled chat adds vLLM's continuation flags — the same JSON the SDK sends."""
    from clue.engines.openai_api import OpenAIEngine

    engine = OpenAIEngine("http://127.0.0.1:9/v1", "o4-mini", api_key="k", reasoning_effort="low", prefill=True)
    try:
        request = _request(GenParams(max_new_tokens=64, stop=("\n",), seed=1))
        fields = engine.body(request)
        path, sent = await _sdk_sends(lambda c: c.chat.completions.create(
            model="o4-mini", messages=[dict(m) for m in MESSAGES], max_completion_tokens=64, seed=1, reasoning_effort="low"))
        assert sent == openai_body.chat_body("o4-mini", request, fields)  # last message is a user turn: no flags
        prefilled = Request(task="meqsum", sample_id="1", params=request.params, protocol="clue-v3",
                            endpoint=Endpoint("openai", "m"), messages=MESSAGES[:3])
        _, sent = await _sdk_sends(lambda c: c.chat.completions.create(
            model="o4-mini", messages=[dict(m) for m in MESSAGES[:3]], max_completion_tokens=64, seed=1,
            reasoning_effort="low", extra_body={"continue_final_message": True, "add_generation_prompt": False}))
        assert sent == openai_body.chat_body("o4-mini", prefilled, engine.body(prefilled))
        assert "temperature" not in sent and "stop" not in sent and "max_tokens" not in sent
    finally:
        await engine.close()
