"""The price table: USD per 1M tokens by model id (clue/report/prices.yaml, or `--prices FILE`).

Read by the report (cost of a finished run, clue/report/cost.py) and by the run itself
(`--dry-run` estimates and `--max-cost`, clue/budget.py), so it lives below both layers.
"""

from __future__ import annotations

from pathlib import Path

from clue.errors import ConfigError

DEFAULT_PRICES = Path(__file__).parent / "report" / "prices.yaml"


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
