"""`clue run`'s options and their one-line validation (an invalid value is an argparse error naming the fix)."""

from __future__ import annotations

import argparse
from pathlib import Path

from clue.engines import ENGINES, ROUTES
from clue.errors import ConfigError

ENGINE_HINTS = {"vllm": "vLLM serves an OpenAI-compatible API: use --engine openai --endpoint http://HOST:PORT/v1",
                "sglang": "use --engine openai (OpenAI-compatible API)", "ollama": "use --engine openai (OpenAI-compatible API at /v1)",
                "text-generation-inference": "use --engine tgi"}


def _engine(value: str) -> str:
    if value in ENGINES:
        return value
    hint = ENGINE_HINTS.get(value.lower(), f"choose one of {', '.join(ENGINES)}")
    raise argparse.ArgumentTypeError(f"unknown engine {value!r}; {hint}")


def positive_int(hint: str = ""):
    """An argparse type: a whole number of at least 1; `hint` is added to the refusal (e.g. what leaving it out does)."""
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1 (got {n}){'; ' + hint if hint else ''}")
        return n
    return parse


def _non_negative(name: str):
    def parse(value: str) -> float:
        try:
            x = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
        if not x >= 0 or x == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0 (got {value})")
        return x
    return parse


def _seeds(value: str) -> tuple[int, ...]:
    """--fewshot-seed: one whole number, or several separated by commas (one exemplar draw each)."""
    parts = [p.strip() for p in value.split(",")]
    try:
        seeds = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number or a comma-separated list of them (e.g. 0,1,2)") from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{value!r} names a seed twice")
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be 0 or more (got {value})")
    return seeds


def _api_version(value: str) -> str:
    """An empty --api-version is refused, not replaced by the default: a script's unset variable should not pass unseen."""
    if not value.strip():
        raise argparse.ArgumentTypeError("is empty; pass a version such as 2024-10-21, or leave the option out for that default")
    return value.strip()


def failure_limit(spec: str, total: int) -> int:
    """`--max-failures`: a count ("5") or a fraction ("0.01", "1%") of the requests."""
    text = spec.strip()
    try:
        percent = text.endswith("%")
        value = float(text[:-1] if percent else text)
    except ValueError:
        raise ConfigError(f"--max-failures {spec!r} is neither a count nor a fraction", "e.g. --max-failures 5 or 0.01 or 1%") from None
    if not value >= 0 or value == float("inf"):
        raise ConfigError(f"--max-failures {spec!r} is negative or not finite", "use 0 or more")
    if percent:
        if value > 100:
            raise ConfigError(f"--max-failures {spec!r} is more than 100 %", "use a percentage from 0% to 100%")
        return int(value / 100.0 * total)
    if value >= 1 and not value.is_integer():
        raise ConfigError(f"--max-failures {spec!r} is neither a whole count nor a fraction below 1", "e.g. 5, 0.01 or 1%")
    return int(value * total) if 0 < value < 1 else int(value)


def _max_failures(value: str) -> str:
    try:
        failure_limit(value, 1)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.what.removeprefix("--max-failures ")) from None
    return value


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Every option of `clue run` (also used by `clue reproduce` through the same parser)."""
    p.add_argument("--engine", type=_engine, required=True, metavar="{" + ",".join(ENGINES) + "}",
                   help="inference engine: tgi (text-generation-inference), openai (any OpenAI-compatible server: vLLM, "
                        "llama.cpp, hosted APIs), azure (Azure OpenAI classic deployments; openai pointed at "
                        "https://*.openai.azure.com/ without /openai/v1 is azure), baseline (no model)")
    p.add_argument("--route", choices=ROUTES, default="chat",
                   help="openai/azure: chat (server's chat template) or completions (the kit renders the exact protocol prompt; "
                        "needs --chat-template unless --mode base)")
    p.add_argument("--prefill", action="store_true",
                   help="chat route: send the generation prefix as a final assistant message for the server to continue "
                        "(vLLM continue_final_message, llama.cpp)")
    p.add_argument("--model-family", default=None,
                   help="parameter rules for the model (openai-reasoning, anthropic, mistral, gemini, openai-compatible); "
                        "default: from the model name")
    p.add_argument("--reasoning-effort", default=None, help="reasoning models: none/minimal/low/medium/high")
    p.add_argument("--api-version", type=_api_version, default=None, help="azure: the api-version query parameter (default 2024-10-21)")
    p.add_argument("--endpoint", help="server root URL (tgi) or OpenAI-compatible base URL ending in /v1 (openai)")
    p.add_argument("--model", default=None, help="model id (HF id for tgi; served model name for openai)")
    p.add_argument("--revision", default=None, help="model revision (commit sha); default: what the server reports")
    p.add_argument("--benchmark", default=None, help="benchmark (see `clue tasks`); default: the one owning --tasks")
    p.add_argument("--tasks", default="all", help="comma-separated task names, or 'all' (default)")
    p.add_argument("--protocol", default=None, help="protocol profile (see `clue protocols`); default: the benchmark's")
    p.add_argument("--shots", type=int, default=None,
                   help="few-shot examples per task (default: each task's); refused where the protocol fixes them (CLUE)")
    p.add_argument("--fewshot-seed", type=_seeds, default=None, metavar="N[,N…]",
                   help="seed of the few-shot exemplar draw (default: the protocol's, 0 for ClinicBench; separate from the "
                        "sampling --seed); several (0,1,2) run one draw each and report the mean ± sd per task")
    p.add_argument("--data-dir", default="data", type=Path, help="folder holding <task>/<original file name> (default: data)")
    p.add_argument("--synthetic", action="store_true", help="use the bundled synthetic samples instead of --data-dir")
    p.add_argument("--limit", type=positive_int(), default=None, help="evaluate only the first N items per task")
    p.add_argument("--concurrency", type=positive_int(), default=None,
                   help="requests in flight (default: follow the server — the limit it states (TGI's max_concurrent_requests, "
                        "llama.cpp's slots), else grow while throughput grows; on 429/503 halve, or go back to the last "
                        "number that ran clean)")
    p.add_argument("--out", type=Path, default=None, help="run directory (default runs/<model>__<protocol>)")
    p.add_argument("--store", type=Path, default=None, help="response cache (default $CLUE_STORE or .clue/store.sqlite)")
    p.add_argument("--mode", choices=("instruct-system", "instruct", "base"), default=None,
                   help="conversation layout: instruct-system (system message + user turns; default), instruct (no system "
                        "role: the system text opens the first user turn) or base (plain few-shot text, no chat template)")
    p.add_argument("--chat-template", default=None, help="tokenizer_config.json with the model's chat_template (tgi); default: the Hub")
    p.add_argument("--tokenizer", default=None, help="tokenizer.json of the model (LongHealth budgets); default: the Hub")
    p.add_argument("--max-position-embeddings", type=int, default=None, help="model context length for v3 truncate formulas")
    p.add_argument("--temperature", type=_non_negative("--temperature"), default=None, help="sampling temperature ≥ 0 (default: greedy)")
    p.add_argument("--seed", type=int, default=None, help="sampling seed")
    p.add_argument("--max-failures", type=_max_failures, default="0",
                   help="failed requests tolerated: a count or a fraction like 0.01 / 1%% (default 0)")
    p.add_argument("--max-attempts", type=positive_int(), default=6,
                   help="attempts per request, first included, for errors other than an outage (default 6)")
    p.add_argument("--retry-budget", type=_non_negative("--retry-budget"), default=600.0, metavar="SECONDS",
                   help="how long one request keeps retrying while the server is away (connection refused, HTTP 502/503/504), "
                        "e.g. restarting or loading a model (default 600)")
    p.add_argument("--timeout", type=_non_negative("--timeout"), default=300.0, help="seconds per attempt (default 300)")
    p.add_argument("--retry-base", type=_non_negative("--retry-base"), default=1.0, help="backoff base seconds for jittered retries (default 1)")
    p.add_argument("--api-key-env", default=None,
                   help="environment variable holding the endpoint's API key (default OPENAI_API_KEY for openai, TGI_API_KEY for tgi)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--allow-remote-phi", action="store_true",
                   help="allow credentialed (PhysioNet) tasks to go to a non-loopback endpoint (see clue/phi.py)")
    p.add_argument("--allow-data-mismatch", action="store_true",
                   help="run even when a data file's sha256 differs from the one the kit knows or recorded on fetch (recorded in run.json)")
    p.add_argument("--refresh", action="store_true",
                   help="ask the server again for every request, even those in the response store, and replace the stored answers")
    p.add_argument("--dry-run", action="store_true",
                   help="build the exact requests and write them to <out>/requests.jsonl with counts and token/USD "
                        "estimates; send none (works without a server when nothing needs one)")
    p.add_argument("--batch", action="store_true",
                   help="openai/azure: send through the Batch API (50%% price, within 24 h); the command exits after "
                        "submitting, and re-running it collects the results into the store")
    p.add_argument("--max-cost", type=_non_negative("--max-cost"), default=None, metavar="USD",
                   help="stop sending once the reported usage of this run's requests costs USD (needs the model's price)")
    p.add_argument("--prices", default=None, metavar="FILE",
                   help="price table, USD per 1M tokens by model id (default: clue/report/prices.yaml) for --max-cost / --dry-run")
