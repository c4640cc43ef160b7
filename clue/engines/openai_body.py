"""Request bodies for OpenAI-compatible routes, built by the kit: chat completions, completions, batch lines.

Each body is exactly the JSON the OpenAI SDK sends for the same arguments (tests/test_openai_body.py
compares them with what `AsyncOpenAI.chat.completions.create` / `completions.create` put on the
wire). The SDK is not used to build them because its argument transform walks every message on
every call (~2 ms CPU per request, most of the openai engine's cost, `make bench`), and the typed
params add nothing the kit needs: the values come from a frozen `Request` the kit built itself.

The generation fields (budget, temperature, stop, seed, reasoning effort) come from the model
family's rules (`clue/engines/families.py`): the engine passes them in as `fields`, computed once
per distinct `GenParams`; without them the model name's family applies. For the default family
(any OpenAI-compatible server) that is greedy unless asked otherwise: `temperature` is always sent
(0 when the request leaves it unset), so a server's own default temperature never decides a run.
"""

from __future__ import annotations

from typing import Any

from clue.engines import families
from clue.types import GenParams, Request

CHAT_PATH = "/chat/completions"
COMPLETIONS_PATH = "/completions"


def _sampling(model: str, params: GenParams) -> dict[str, Any]:
    """The model family's generation fields, when the caller has none of its own (`fields`)."""
    return families.plan(families.family_for(model), params).fields


def chat_body(model: str, request: Request, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST {base}/chat/completions: the conversation as given, the server applies its chat template."""
    assert request.messages is not None, "a chat body needs messages"
    return {"model": model, "messages": [dict(m) for m in request.messages],
            **(fields if fields is not None else _sampling(model, request.params))}


def completion_body(model: str, request: Request, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST {base}/completions: the fully rendered prompt (chat template and generation prefix applied here)."""
    assert request.prompt is not None, "a completions body needs a rendered prompt"
    return {"model": model, "prompt": request.prompt, **(fields if fields is not None else _sampling(model, request.params))}


def route(model: str, request: Request, fields: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The route and body for a request: chat messages go to chat completions, rendered prompts to completions."""
    if request.messages is not None:
        return CHAT_PATH, chat_body(model, request, fields)
    return COMPLETIONS_PATH, completion_body(model, request, fields)


def batch_line(model: str, request: Request, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """One line of an OpenAI Batch API input file (custom_id = the request's cache key, so results map back)."""
    path, body = route(model, request, fields)
    return {"custom_id": request.key, "method": "POST", "url": "/v1" + path, "body": body}


def parse_choice(payload: Any, chat: bool) -> tuple[str, str | None, dict[str, int]]:
    """(text, finish_reason, usage) of the first choice; ValueError when the answer is not that shape."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise ValueError("no choices in the answer")
    choice = choices[0]
    if chat:
        message = choice.get("message")
        if not isinstance(message, dict):
            raise ValueError("no message in the first choice")
        text = message.get("content")
    else:
        text = choice.get("text")
    if text is not None and not isinstance(text, str):
        raise ValueError("the answer's text is not a string")
    usage: dict[str, int] = {}
    raw = payload.get("usage")
    if isinstance(raw, dict):
        usage = {k: raw[k] for k in ("prompt_tokens", "completion_tokens") if isinstance(raw.get(k), int)}
        details = raw.get("completion_tokens_details")
        if isinstance(details, dict) and isinstance(details.get("reasoning_tokens"), int) and details["reasoning_tokens"]:
            usage["reasoning_tokens"] = details["reasoning_tokens"]  # reasoning models: spent inside the budget
    reason = choice.get("finish_reason")
    return text or "", str(reason) if reason is not None else None, usage


__all__ = ["CHAT_PATH", "COMPLETIONS_PATH", "chat_body", "completion_body", "route", "batch_line", "parse_choice"]
