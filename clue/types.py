"""The core values that flow through the kit (one direction: Sample → Request → Completion → Score).

All are small and frozen. A `Request` is engine-independent: either a raw prompt (TGI's
native route, the way CLUE v3 called its servers) or a list of chat messages (OpenAI-compatible
servers apply their own chat template).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, Mapping

Message = dict[str, str]
Status = Literal["ok", "failed"]


def canonical_json(value: Any) -> str:
    """A stable JSON form (sorted keys, no whitespace) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Sample:
    """One evaluation item: `fields` are the dataset's own columns, `reference` the gold answer."""

    id: str
    fields: Mapping[str, Any]
    reference: str


@dataclass(frozen=True)
class GenParams:
    """Generation parameters. `None` leaves the server default (and is left out of the request)."""

    max_new_tokens: int
    stop: tuple[str, ...] = ()
    temperature: float | None = None  # None = greedy (TGI: do_sample off; OpenAI: temperature 0)
    seed: int | None = None
    truncate: int | None = None  # TGI only: keep the last `truncate` prompt tokens

    def as_dict(self) -> dict[str, Any]:
        # written out (not dataclasses.asdict, which deep-copies recursively): every request's key computes it
        return {"max_new_tokens": self.max_new_tokens, "stop": list(self.stop), "temperature": self.temperature,
                "seed": self.seed, "truncate": self.truncate}


@dataclass(frozen=True)
class Endpoint:
    """What the answer depends on besides the prompt: which engine, which model at which revision."""

    engine: str
    model: str
    revision: str | None = None
    # where the model name alone does not pin the weights (OpenAI-compatible servers: one name, many servers),
    # the server's identity (base URL + served model); None leaves the key as before (TGI: model_id + sha)
    identity: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # answer-changing engine options (reasoning effort); keyed only when set


@dataclass(frozen=True)
class Request:
    """An engine-independent generation request; `key` hashes everything that changes the answer."""

    task: str
    sample_id: str
    params: GenParams
    protocol: str
    endpoint: Endpoint
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "engine": self.endpoint.engine,
            "model": self.endpoint.model,
            "revision": self.endpoint.revision,
            "prompt": self.prompt,
            "messages": [dict(m) for m in self.messages] if self.messages is not None else None,
            "params": self.params.as_dict(),
            "protocol": self.protocol,
        }
        if self.endpoint.identity is not None:  # absent otherwise: keys of existing stores stay valid
            payload["endpoint_identity"] = self.endpoint.identity
        if self.endpoint.options:  # likewise: keyed only when set
            payload["endpoint_options"] = dict(self.endpoint.options)
        return payload

    # Computed once per request (the runner and the store each need them): cached in the instance's
    # __dict__, which a frozen dataclass allows; they are not fields, so equality and replace() ignore them.
    @cached_property
    def canonical(self) -> str:
        """`payload()` as canonical JSON: what the store keeps and `key` hashes."""
        return canonical_json(self.payload())

    @cached_property
    def key(self) -> str:
        return sha256(self.canonical)

    @cached_property
    def prompt_hash(self) -> str:
        """Hash of what the model reads (prompt or messages) alone — comparable across engines."""
        body = self.prompt if self.prompt is not None else canonical_json(list(self.messages or ()))
        return sha256(body)[:16]


@dataclass(frozen=True)
class Completion:
    """What came back for one request. `error` is set (and `text` None) when the request failed."""

    text: str | None
    finish_reason: str | None = None
    usage: Mapping[str, int] = field(default_factory=dict)
    latency_s: float = 0.0
    attempts: int = 1
    cached: bool = False
    error: str | None = None

    @property
    def status(self) -> Status:
        return "failed" if self.error is not None else "ok"
