"""What a server puts in front of a prompt it tokenizes — asked, not assumed (issue 22, item 6).

The completions route sends the kit's rendered chat template. Whether that string keeps the
template's leading BOS text depends on whether the server adds that same token while tokenizing.
llama.cpp's llama-server adds BOS only where the model says so (the GGUF's `add_bos_token`;
SmolLM2, whose template "BOS" is `<|im_start|>`, adds none). Its `/props` names the model's BOS text
(`bos_token`) but not whether it is added, so the kit asks `POST /tokenize` for a probe string with
and without `add_special` (the flag its completions route tokenizes with), `with_pieces` giving each
token's text: the tokens the first answer has in front of the second are what the server adds.
vLLM answers the same question at its `POST /tokenize` (`add_special_tokens`, the completions route's
default, and `return_token_strs`); a vLLM too old to name the tokens, TGI, and any other server are
not asked or cannot say, and are taken to add the model's BOS as before (CLUE v3's prompts and
request keys do not depend on it: v3 keeps the template's BOS text whatever the server adds).
The answer (what was asked, what the server said, what it adds) goes to run.json.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Sequence

from clue.engines.server_info import server_root

if TYPE_CHECKING:
    import httpx2

    from clue.engines.pool import DirectClient

PROBE = "Hello world"
ASKED = {"llama.cpp": 'POST /tokenize {"content": "Hello world", "add_special": true | false, "with_pieces": true}',
         "vllm": 'POST /tokenize {"model": …, "prompt": "Hello world", "add_special_tokens": true | false, '
                 '"return_token_strs": true}'}


def _piece(token: Any) -> str | None:
    piece = token.get("piece") if isinstance(token, dict) else None
    if isinstance(piece, list):  # llama.cpp sends a piece that is not valid UTF-8 as its bytes
        return bytes(int(b) & 0xFF for b in piece).decode("utf-8", "replace")
    return piece if isinstance(piece, str) else None


def _ids(tokens: Sequence[Any]) -> list[int] | None:
    ids = [t.get("id") if isinstance(t, dict) else t for t in tokens]
    ints = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
    return ints if len(ints) == len(ids) else None


def read_answers(special: Sequence[Any], plain: Sequence[Any], asked: str = ASKED["llama.cpp"]) -> dict[str, Any]:
    """What the server adds, from its two tokenizations of the probe (token dicts {"id", "piece"} or bare ids).

    `adds_in_front` is the list of texts of the tokens `special` has before `plain` ([] when none),
    or None when the two answers do not line up (then nothing is known)."""
    out: dict[str, Any] = {"asked": asked, "said": {"add_special": _ids(special), "plain": _ids(plain)},
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


def _request(kind: str, model: str, special: bool) -> dict[str, Any]:
    if kind == "vllm":
        return {"model": model, "prompt": PROBE, "add_special_tokens": special, "return_token_strs": True}
    return {"content": PROBE, "add_special": special, "with_pieces": True}


def _tokens(kind: str, answer: Any) -> list[Any] | None:
    """The answer's tokens as llama.cpp gives them: [{"id", "piece"}] (or bare ids when the texts are missing)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("tokens"), list):
        return None
    tokens, texts = answer["tokens"], answer.get("token_strs")
    if kind == "vllm" and isinstance(texts, list) and len(texts) == len(tokens):
        return [{"id": i, "piece": t} for i, t in zip(tokens, texts, strict=True)]
    return tokens


async def probe(client: httpx2.AsyncClient | DirectClient, url: str, headers: dict[str, str], kind: str, model: str = "",
                timeout_s: float = 5.0) -> dict[str, Any] | None:
    """llama.cpp and vLLM: ask `/tokenize` what the server adds in front of a prompt (see `read_answers`).
    None for servers not asked (TGI, hosted APIs, unknown)."""
    if kind not in ASKED:
        return None
    answers = []
    for special in (True, False):
        try:
            resp = await client.post(f"{server_root(url)}/tokenize", content=json.dumps(_request(kind, model, special)).encode(),
                                     headers={**headers, "content-type": "application/json"}, timeout=timeout_s)
            tokens = _tokens(kind, resp.json()) if resp.status_code == 200 else None
        except Exception:  # noqa: BLE001 — an unanswered probe leaves the assumption in place (and says so)
            tokens = None
        if tokens is None:
            return {"asked": ASKED[kind], "said": None, "adds_in_front": None, "why": "the server did not answer /tokenize"}
        answers.append(tokens)
    return read_answers(answers[0], answers[1], ASKED[kind])
