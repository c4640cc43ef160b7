"""Token usage and cost of a run: sums of the usage servers reported, priced from a small table.

Prices are USD per 1M tokens by model id (clue/report/prices.yaml or `--prices FILE`). A model
without a price, or a run whose server reported no usage, gets cost None ("unknown"), never 0.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from clue.prices import DEFAULT_PRICES, load_prices  # noqa: F401 — the table is read by the run (--max-cost) too


def usage(samples: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Token sums over all samples and over those sent in the latest invocation (not cached)."""
    out = {"prompt_tokens": 0, "completion_tokens": 0, "sent_prompt_tokens": 0, "sent_completion_tokens": 0,
           "with_usage": 0, "samples": len(samples)}
    for s in samples:
        u = s.get("usage") or {}
        if not u:
            continue
        out["with_usage"] += 1
        p, c = int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
        out["prompt_tokens"] += p
        out["completion_tokens"] += c
        if not s.get("cached"):
            out["sent_prompt_tokens"] += p
            out["sent_completion_tokens"] += c
    return out


def cost(model: str, totals: Mapping[str, int], prices: Mapping[str, Mapping[str, float]], *, sent_only: bool = False) -> float | None:
    """USD for the run's tokens; None when the model has no price or no usage was reported."""
    price = prices.get(model)
    if price is None or not totals.get("with_usage"):
        return None
    p = totals["sent_prompt_tokens" if sent_only else "prompt_tokens"]
    c = totals["sent_completion_tokens" if sent_only else "completion_tokens"]
    return (p * price["input"] + c * price["output"]) / 1_000_000
