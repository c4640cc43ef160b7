"""What a server puts in front of a prompt it tokenizes — asked, not assumed (issue 22, item 6).

The completions route sends the kit's rendered chat template. Whether that string keeps the
template's leading BOS text depends on whether the server adds that same token while tokenizing.
llama.cpp's llama-server adds BOS only where the model says so (the GGUF's `add_bos_token`;
SmolLM2, whose template "BOS" is `<|im_start|>`, adds none). Its `/props` names the model's BOS text
(`bos_token`) but not whether it is added, so the kit asks `POST /tokenize` for a probe string with
and without `add_special` (the flag its completions route tokenizes with), `with_pieces` giving each
token's text: the tokens the first answer has in front of the second are what the server adds.
Other servers are not asked: TGI and vLLM are taken to add the model's BOS (their tokenizers'
special tokens, as CLUE v3 ran), so their prompts and request keys stay as they were.
The answer (what was asked, what the server said, what it adds) goes to run.json.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

import httpx2

from clue.engines.server_info import server_root

PROBE = "Hello world"
ASKED = 'POST /tokenize {"content": "Hello world", "add_special": true | false, "with_pieces": true}'


def _piece(token: Any) -> str | None:
    piece = token.get("piece") if isinstance(token, dict) else None
    if isinstance(piece, list):  # llama.cpp sends a piece that is not valid UTF-8 as its bytes
        return bytes(int(b) & 0xFF for b in piece).decode("utf-8", "replace")
    return piece if isinstance(piece, str) else None


def _ids(tokens: Sequence[Any]) -> list[int] | None:
    ids = [t.get("id") if isinstance(t, dict) else t for t in tokens]
    ints = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    return ints if len(ints) == len(ids) else None


def read_answers(special: Sequence[Any], plain: Sequence[Any]) -> dict[str, Any]:
    """What the server adds, from its two tokenizations of the probe (token dicts {"id", "piece"} or bare ids).

    `adds_in_front` is the list of texts of the tokens `special` has before `plain` ([] when none),
    or None when the two answers do not line up (then nothing is known)."""
    out: dict[str, Any] = {"asked": ASKED, "said": {"add_special": _ids(special), "plain": _ids(plain)},
                           "adds_in_front": None}
    a, b = out["said"]["add_special"], out["said"]["plain"]
    if a is None or b is None or not b:
        out["why"] = "the server's /tokenize answers were not token lists"
        return out
    starts = [i for i in range(len(a) - len(b) + 1) if a[i:i + len(b)] == b]
    if not starts:
        out["why"] = "the probe's tokens with add_special do not contain its plain tokens"
        return out
    front = [_piece(t) for t in special[:starts[0]]]
    if any(p is None for p in front):
        out["why"] = "the server did not name the tokens it adds (no with_pieces)"
        return out
    out["adds_in_front"] = front
    back = [_piece(t) for t in special[starts[0] + len(b):]]
    if back:
        out["adds_at_end"] = back
    return out


async def probe(client: httpx2.AsyncClient, url: str, headers: dict[str, str], kind: str,
                timeout_s: float = 5.0) -> dict[str, Any] | None:
    """llama.cpp: ask `/tokenize` what it adds in front of a prompt (see `read_answers`). None for servers not asked."""
    if kind != "llama.cpp":
        return None
    answers = []
    for special in (True, False):
        body = json.dumps({"content": PROBE, "add_special": special, "with_pieces": True}).encode()
        try:
            resp = await client.post(f"{server_root(url)}/tokenize", content=body,
                                     headers={**headers, "content-type": "application/json"}, timeout=timeout_s)
            tokens = resp.json().get("tokens") if resp.status_code == 200 else None
        except Exception:  # noqa: BLE001 — an unanswered probe leaves the assumption in place (and says so)
            tokens = None
        if not isinstance(tokens, list):
            return {"asked": ASKED, "said": None, "adds_in_front": None, "why": "the server did not answer /tokenize"}
        answers.append(tokens)
    return read_answers(answers[0], answers[1])
