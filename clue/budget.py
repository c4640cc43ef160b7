"""Cost before and during a run: `--dry-run` token/USD estimates and the `--max-cost` cap.

Prices are the report's table (USD per 1M tokens by model id: clue/report/prices.yaml or
`--prices FILE`). Estimates count prompt tokens with the model's tokenizer when one is given
(`--tokenizer`), else approximate them as characters / 4 and say so; completion tokens are
bounded by max_new_tokens per request. During a run the cap is checked against the usage the
server reports: once the sent requests' cost reaches it, nothing more is sent (requests in flight
finish and are stored) and the run stops; re-running with a higher cap continues from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clue.errors import ConfigError
from clue.types import Request

CHARS_PER_TOKEN = 4  # the usual rule of thumb for English BPE vocabularies; labelled as an approximation


def price_for(model: str, prices_path: str | None) -> dict[str, float] | None:
    from clue.prices import load_prices

    return load_prices(prices_path).get(model)


def request_text(r: Request) -> str:
    return r.prompt if r.prompt is not None else "\n".join(m["content"] for m in r.messages or ())


def estimate(requests: Iterable[Request], tokenizer: Any, price: Mapping[str, float] | None) -> dict[str, Any]:
    """Prompt tokens (exact with a tokenizer, else characters/4), a completion-token bound and USD."""
    reqs = list(requests)
    texts = [request_text(r) for r in reqs]
    if tokenizer is not None:
        prompt = sum(len(e.ids) for e in tokenizer.encode_batch(texts, add_special_tokens=False))
        how = "the model's tokenizer"
    else:
        prompt = sum(-(-len(t) // CHARS_PER_TOKEN) for t in texts)
        how = f"approximation: characters / {CHARS_PER_TOKEN}"
    completion_max = sum(r.params.max_new_tokens for r in reqs)
    out: dict[str, Any] = {"prompt_tokens": prompt, "prompt_tokens_counted_by": how, "completion_tokens_max": completion_max}
    if price is not None:
        out["usd_prompt"] = round(prompt * price["input"] / 1_000_000, 6)
        out["usd_max"] = round(out["usd_prompt"] + completion_max * price["output"] / 1_000_000, 6)
    return out


def refuse_over_cap(requests: Iterable[Request], tokenizer: Any, meter: CostMeter, model: str) -> None:
    """Before anything is sent (clue watch): a ConfigError when the estimate's upper bound — prompt tokens plus every
    request's max_new_tokens, at the meter's price — exceeds the cap."""
    unique = list({r.key: r for r in requests}.values())
    est = estimate(unique, tokenizer, meter.price)
    if est["usd_max"] > meter.cap_usd:
        raise ConfigError(f"{len(unique)} requests to {model} may cost up to ${est['usd_max']:.4f} (~{est['prompt_tokens']:,} prompt "
                          f"tokens by {est['prompt_tokens_counted_by']}, at most {est['completion_tokens_max']:,} completion tokens), "
                          f"over --max-cost {meter.cap_usd:g}; nothing was sent",
                          "raise --max-cost, or watch fewer tasks or a larger --detect (a smaller subset)")


@dataclass
class CostMeter:
    """Adds up the cost of the completions a run receives; `add` says when the cap is reached."""

    cap_usd: float
    price: Mapping[str, float]
    spent_usd: float = 0.0
    counted: int = 0
    unpriced: int = 0  # completions the server reported no usage for

    @classmethod
    def for_model(cls, cap_usd: float, model: str, prices_path: str | None) -> CostMeter:
        if cap_usd <= 0:
            raise ConfigError(f"--max-cost {cap_usd:g} is not a positive amount", "give USD, e.g. --max-cost 5")
        price = price_for(model, prices_path)
        if price is None:
            raise ConfigError(f"--max-cost needs the price of {model!r}, which the price table lacks",
                              "pass --prices FILE with USD per 1M tokens for it (format: clue/report/prices.yaml)")
        return cls(cap_usd, price)

    def add(self, usage: Mapping[str, int]) -> bool:
        if not usage:
            self.unpriced += 1
            return True  # the cap cannot be enforced without usage: stop rather than spend blindly
        self.counted += 1
        self.spent_usd += (int(usage.get("prompt_tokens") or 0) * self.price["input"]
                           + int(usage.get("completion_tokens") or 0) * self.price["output"]) / 1_000_000
        return self.spent_usd >= self.cap_usd

    def summary(self) -> str:
        if self.unpriced:
            return (f"the server reported no token usage, so --max-cost {self.cap_usd:g} cannot be enforced "
                    f"(${self.spent_usd:.4f} counted before)")
        return f"--max-cost {self.cap_usd:g} USD reached: ${self.spent_usd:.4f} spent on {self.counted} request(s)"
