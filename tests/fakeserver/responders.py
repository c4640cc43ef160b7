"""What the fake server answers, and its word-token rules.

A responder is ``(kind, payload) -> text``: kind "chat" with the message list, or "generate" with the
prompt string (the OpenAI completions route and the batch lines use "generate" for a prompt too).
``echo_responder`` (the default), ``constant_responder(text)`` and ``OracleResponder(mapping)`` (the
reference of the input found last in the prompt). Tokens are whitespace-split words (``_n_tokens``);
``_limit`` applies a token limit then the earliest stop sequence and names TGI's finish_reason;
``_chat_text`` is the message contents joined by newlines.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

Responder = Callable[[str, Any], str]


def echo_responder(kind: str, payload: Any) -> str:
    """Echo: the last user message's content (chat) or the last 200 chars of the prompt (generate)."""
    if kind == "chat":
        users = [m.get("content") for m in payload if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users and isinstance(users[-1], str) else ""
    return str(payload)[-200:]


def constant_responder(text: str) -> Responder:
    """Always answer ``text``."""
    return lambda kind, payload: text


class OracleResponder:
    """Answer the reference of the input that occurs last in the prompt.

    Prompts hold few-shot examples before the real input, so among the keys found in the prompt
    (chat: the message contents joined by newlines) the one whose last occurrence ends furthest
    right wins (ties: the longer key). Unknown input -> "".
    """

    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = {k: v for k, v in mapping.items() if k}

    def __call__(self, kind: str, payload: Any) -> str:
        text = _chat_text(payload) if kind == "chat" else str(payload)
        best: tuple[int, int] | None = None
        answer = ""
        for key, ref in self.mapping.items():
            pos = text.rfind(key)
            if pos >= 0 and (best is None or (pos + len(key), len(key)) > best):
                best, answer = (pos + len(key), len(key)), ref
        return answer


def _chat_text(messages: Any) -> str:
    parts = []
    for m in messages if isinstance(messages, list) else []:
        content = m.get("content") if isinstance(m, dict) else None
        parts.append(content if isinstance(content, str) else json.dumps(content) if content else "")
    return "\n".join(parts)


def _n_tokens(text: str) -> int:
    return len(text.split())


def _limit(text: str, max_tokens: int | None, stops: list[str], keep_stop: bool) -> tuple[str, str]:
    """Apply the token limit, then the earliest stop sequence; return (text, TGI finish_reason)."""
    reason = "eos_token"
    if max_tokens is not None:
        words = list(re.finditer(r"\S+", text))
        if len(words) > max_tokens:
            text, reason = text[: words[max_tokens - 1].end()] if max_tokens > 0 else "", "length"
    hits = [(i, s) for s in stops if s and (i := text.find(s)) >= 0]
    if hits:
        i, s = min(hits)
        text, reason = text[: i + len(s)] if keep_stop else text[:i], "stop_sequence"
    return text, reason
