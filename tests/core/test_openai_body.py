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
