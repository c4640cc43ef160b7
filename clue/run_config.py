"""What one `clue run` asks for: the engine, model, tasks, protocol and paths, and every run option (`RunConfig`).

A plain value built by the CLI (clue/cli.py) or a test and read by clue/evaluate.py and clue/run_record.py; it holds
no behaviour, so both can import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence

from clue import prompts
from clue.protocol import RunProtocol
from clue.runner import RetryPolicy
from clue.tasks import Task
from clue.tasks.fewshot import Split


class ItemSubset(Protocol):
    """Chooses each task's items in place of --limit (clue watch: clue/watch_subset.py WatchSubset)."""

    def __call__(self, task: Task, split: Split) -> Split: ...

    def check_tasks(self) -> None: ...

    def record(self) -> dict[str, Any]: ...


@dataclass
class RunConfig:
    engine: str
    model: str
    tasks: Sequence[Task]
    profile: RunProtocol
    data_dir: Path
    out: Path
    store_path: Path
    endpoint: str | None = None
    revision: str | None = None
    mode: prompts.Mode | None = None  # None: instruct-system, or what the engine can do
    chat_template: str | None = None  # path of a tokenizer_config.json; None = the Hub at `revision`
    tokenizer: str | None = None  # path of a tokenizer.json; None = the Hub at `revision` (when a task needs it)
    max_position_embeddings: int | None = None
    temperature: float | None = None
    seed: int | None = None
    limit: int | None = None
    concurrency: int | None = None  # None: follow the server (clue/concurrency.py)
    max_failures: str = "0"
    api_key_env: str | None = None  # default per engine: OPENAI_API_KEY / TGI_API_KEY
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    progress: bool = True
    argv: Sequence[str] = ()
    allow_remote_phi: bool = False  # credentialed tasks may go to a non-loopback endpoint (clue/phi.py)
    dry_run: bool = False  # build and write the exact requests, send none
    benchmark: str | None = None  # recorded in scores.json and run.json
    shots: int | None = None  # few-shot examples per task (None: each task's k)
    fewshot_seeds: tuple[int, ...] | None = None  # --fewshot-seed: one exemplar draw per seed (None: the protocol's seed)
    refresh: bool = False  # ask the server again even where the store has an answer, and replace it
    synthetic: bool = False  # data_dir holds the bundled synthetic items (marked in scores.json, never `reproduced`)
    route: str = "chat"  # openai/azure: "chat" (server-side template) or "completions" (the rendered prompt)
    prefill: bool = False  # chat route: send the generation prefix as a final assistant message to continue
    model_family: str | None = None  # clue/engines/families.py; None: from the model name
    reasoning_effort: str | None = None
    api_version: str | None = None  # azure
    max_cost: float | None = None  # USD: stop sending once the reported usage costs this much (clue/budget.py)
    prices: str | None = None  # price table (USD per 1M tokens); None: clue/report/prices.yaml
    batch: bool = False  # OpenAI Batch API: submit, exit, collect on a later invocation
    allow_data_mismatch: bool = False  # run on data files whose sha256 differs from the known one (recorded)
    # clue watch: its subset (called per task with its loaded Split; `record()` goes to run.json), and a refusal
    # before sending when the cost estimate's upper bound exceeds --max-cost (clue/budget.py refuse_over_cap)
    subset: ItemSubset | None = None
    cap_before_sending: bool = False
