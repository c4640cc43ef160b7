"""Token usage and cost of a run: sums of the usage servers reported, priced from a small table.

Prices are USD per 1M tokens by model id (clue/report/prices.yaml or `--prices FILE`). A model
without a price, or a run whose server reported no usage, gets cost None ("unknown"), never 0.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from clue.errors import ConfigError

DEFAULT_PRICES = Path(__file__).parent / "prices.yaml"


def load_prices(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """{model id: {"input": USD/1M, "output": USD/1M}} from a YAML/JSON price table."""
    import yaml

    path = Path(path) if path else DEFAULT_PRICES
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"price table {path} does not exist", "pass --prices with a YAML file like clue/report/prices.yaml") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"price table {path} is not valid YAML ({str(exc).splitlines()[0]})", "fix the file; see clue/report/prices.yaml") from None
    table = data.get("prices", data) if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"price table {path} must map model ids to {{input, output}}", "see clue/report/prices.yaml")
    out: dict[str, dict[str, float]] = {}
    for model, entry in table.items():
        try:
            out[str(model)] = {"input": float(entry["input"]), "output": float(entry["output"])}
        except (TypeError, KeyError, ValueError):
            raise ConfigError(f"price table {path}: entry {model!r} needs numeric 'input' and 'output'",
                              "give USD per 1M tokens, e.g. {input: 1.0, output: 2.0}") from None
    return out


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
