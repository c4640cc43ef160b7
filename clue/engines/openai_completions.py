"""The raw-prompt route: the client-rendered prompt (the exact CLUE v3 string) to `/v1/completions`.

vLLM, llama.cpp's llama-server, Fireworks and Together take a prompt string there and tokenize
it as given (special-token text becomes the special token). The kit renders the prompt itself, as
it does for TGI's native route, so all three modes (instruct-system, instruct, base) and the
generation prefix are byte-identical to the protocol's string.

BOS: like TGI, these servers add the model's BOS while tokenizing (vLLM: `add_special_tokens`
defaults to true; llama.cpp: when the GGUF says `add_bos`). The protocol's Q9 switch already
decides whether the rendered string keeps the template's own BOS text (v3: kept, so the server's
BOS doubles it exactly as TGI did; corrected protocols: stripped, one BOS). The route therefore
leaves `add_special_tokens` at the server default and sends the string unchanged.

Same client, error handling and model-family rules as the chat route (`OpenAIEngine`).
"""

from __future__ import annotations

import time
from typing import Any

from clue.engines.base import EngineError
from clue.engines.openai_api import OpenAIEngine
from clue.types import Completion, Request


class OpenAICompletionsEngine(OpenAIEngine):
    route = "completions"

    async def generate(self, request: Request) -> Completion:
        assert request.prompt is not None, "the completions route sends a rendered prompt"
        fields = self.body(request)
        start = time.perf_counter()
        try:
            resp = await self._client.completions.create(model=self.model, prompt=request.prompt, extra_body=fields)
        except Exception as exc:  # noqa: BLE001
            raise self._translate(exc) from None
        if not getattr(resp, "choices", None):
            raise EngineError("transient", f"{self.url} returned no choices", label="malformed")
        choice = resp.choices[0]
        return Completion(text=choice.text or "", finish_reason=choice.finish_reason, usage=self._usage(resp),
                          latency_s=time.perf_counter() - start)

    async def describe(self) -> dict[str, Any]:
        info = await super().describe()
        info.update(route="completions", note="the kit rendered the prompt (chat template + generation prefix) and sent it "
                                              "to /v1/completions; the server added BOS as TGI does")
        return info
