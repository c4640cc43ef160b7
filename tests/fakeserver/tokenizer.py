"""The fake server's POST /tokenize: a llama.cpp-shaped tokenizer stand-in and the route answering with it.

``LlamaTokenizer`` splits text the way the kit's BOS checks need (special-token texts as one token each, a
BOS in front or not); ``TokenizeRoute`` is the handler mixin answering llama.cpp's /tokenize (``content``,
``add_special``, ``with_pieces``) or, when the server has a ``vllm_version``, vLLM's (``prompt``,
``add_special_tokens``, ``return_token_strs``). Every body received is kept in ``srv.tokenize_bodies``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .base import _HandlerBase


@dataclass(frozen=True)
class LlamaTokenizer:
    """A llama.cpp-shaped /tokenize: special-token texts are parsed as one token each (llama.cpp's
    parse_special), other text splits into words and single whitespace characters with ids from their
    crc32; ``add_special`` puts ``bos`` in front only when ``add_bos`` (the GGUF's add_bos_token)."""

    specials: dict[str, int]
    bos: str | None = None
    add_bos: bool = True

    def tokenize(self, content: str, add_special: bool) -> list[tuple[int, str]]:
        import zlib

        names = "|".join(re.escape(t) for t in sorted(self.specials, key=len, reverse=True))
        out: list[tuple[int, str]] = []
        for chunk in re.split(f"({names})", content) if names else [content]:
            if chunk in self.specials:
                out.append((self.specials[chunk], chunk))
            else:
                out += [(1000 + zlib.crc32(w.encode()) % 90000, w) for w in re.findall(r"\S+|\s", chunk)]
        if add_special and self.add_bos and self.bos is not None:
            out.insert(0, (self.specials[self.bos], self.bos))
        return out


class TokenizeRoute(_HandlerBase):
    """Handler mixin: POST /tokenize (llama.cpp or vLLM shaped)."""

    def _tokenize(self, raw: bytes) -> None:
        """llama.cpp's POST /tokenize: {"tokens": [id, …]} or, with ``with_pieces``, [{"id", "piece"}, …]."""
        fake = self.server.fake
        body = json.loads(raw or b"{}")
        with fake._lock:
            fake.tokenize_bodies.append(body)
        if fake.vllm_version is not None:  # vLLM: add_special_tokens defaults to true; token_strs only when asked
            tokens = fake.tokenizer.tokenize(str(body.get("prompt", "")), bool(body.get("add_special_tokens", True)))
            return self._send(200, {"count": len(tokens), "max_model_len": fake.max_total_tokens, "tokens": [i for i, _ in tokens],
                                    "token_strs": [p for _, p in tokens] if body.get("return_token_strs") else None})
        tokens = fake.tokenizer.tokenize(str(body.get("content", "")), bool(body.get("add_special", False)))
        self._send(200, {"tokens": [{"id": i, "piece": p} for i, p in tokens] if body.get("with_pieces")
                         else [i for i, _ in tokens]})
