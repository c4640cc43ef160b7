"""Record today's behaviour: every request key the bundled synthetic data produces, and the baseline's scores.

`python -m tests.benchmarks.clue.pinned.make_pinned` rewrites `clue_keys_scores.json` from the code as it is; the test
`test_pinned_behaviour.py` compares the code against that file. It was written from the code before the
benchmark-level refactor (issue 13): a refactor that changes one key (a store would stop resuming) or one
score fails the test. Regenerate only for an intended, announced protocol change.

Covered: every CLUE task × the three profiles × the three conversation modes × both routes (TGI prompt
with a fixed Llama-3 chat template; OpenAI-compatible messages — base mode has none) × two model ids
(stop strings and Phi clean-up depend on them) × two contexts (no tokenizer at 8,192 positions; a
whitespace word-level tokenizer at 1,024 positions, so budgets and cuts are exercised).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PINNED = HERE / "clue_keys_scores.json"
MODELS = ("meta-llama/Meta-Llama-3-8B-Instruct", "microsoft/Phi-3-mini-128k-instruct")
PROFILES = ("clue-v3", "clue-2025", "corrected")
MODES = ("instruct-system", "instruct", "base")
CONTEXTS = ((None, 8192), ("wordlevel", 1024))
DRAW_SEED = 20240626


def _tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok


def _template(tmp: Path) -> Any:
    from clue.chat_template import ChatTemplate
    from tests.conftest import LLAMA3_TEMPLATE

    path = tmp / "tokenizer_config.json"
    path.write_text(json.dumps({"chat_template": LLAMA3_TEMPLATE, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}))
    return ChatTemplate.from_file(path)


def _tasks_and_profiles() -> tuple[dict[str, Any], dict[str, Any]]:
    # Recorded with main's `clue.tasks.TASKS` / `clue.protocols.PROFILES`; since issue 13 CLUE is a benchmark folder.
    from clue.benchmarks.clue.protocol import PROFILES as profiles
    from clue.benchmarks.clue.tasks import TASKS as tasks

    return tasks, profiles


def _materialize(data_dir: Path) -> Path:
    from clue.benchmarks.clue.synthetic import materialize

    return materialize(data_dir)


def request_keys(tmp: Path) -> dict[str, list[str]]:
    """{"<task>|<profile>|<mode>|<route>|<model>|<tokenizer>@<mpe>": [request keys in build order]}."""
    from clue.errors import ConfigError
    from clue.tasks import BuildContext
    from clue.types import Endpoint

    tasks, profiles = _tasks_and_profiles()
    data_dir = _materialize(tmp / "synthetic")
    template, tokenizer = _template(tmp), _tokenizer()
    out: dict[str, list[str]] = {}
    for task_name, task in tasks.items():
        samples = task.load(data_dir)
        for pname in PROFILES:
            profile = profiles[pname]
            split = task.split(samples, profile)
            for mode in MODES:
                for send in ("prompt", "messages"):
                    for model in MODELS:
                        for tok_name, mpe in CONTEXTS:
                            ctx = BuildContext(
                                endpoint=Endpoint("tgi" if send == "prompt" else "openai", model, "0123abcd"),
                                profile=profile, mode=mode, send=send,
                                chat_template=template if send == "prompt" and mode != "base" else None,
                                max_position_embeddings=mpe, tokenizer=tokenizer if tok_name else None,
                                draw_seed=DRAW_SEED)
                            label = f"{task_name}|{pname}|{mode}|{send}|{model}|{tok_name or 'none'}@{mpe}"
                            try:
                                out[label] = [r.key for r in task.build(split, ctx)]
                            except ConfigError as exc:  # base mode has no messages form
                                out[label] = [f"ConfigError: {exc.line()}"]
    return out


def baseline_scores(tmp: Path) -> dict[str, Any]:
    """scores.json of the offline baseline run on the synthetic data (the demo's run), per profile."""
    from clue.evaluate import evaluate
    from clue.run_config import RunConfig

    tasks, profiles = _tasks_and_profiles()
    data_dir = _materialize(tmp / "synthetic-scores")
    out: dict[str, Any] = {}
    saved = os.environ.get("CLUE_SKIP_METRICS")
    os.environ["CLUE_SKIP_METRICS"] = "bertscore,umls"  # as in every test: the optional stacks' presence must not matter
    try:
        for pname in PROFILES:
            run = tmp / f"run-{pname}"
            cfg = RunConfig(engine="baseline", model="parameterless-baseline", tasks=list(tasks.values()),
                            profile=profiles[pname], data_dir=data_dir, out=run, store_path=tmp / "store.sqlite",
                            progress=False)
            evaluate(cfg)
            out[pname] = json.loads((run / "scores.json").read_text())
    finally:
        if saved is None:
            os.environ.pop("CLUE_SKIP_METRICS", None)
        else:
            os.environ["CLUE_SKIP_METRICS"] = saved
    return out


def collect() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return {"request_keys": request_keys(Path(tmp)), "baseline_scores": baseline_scores(Path(tmp))}


def main() -> None:
    PINNED.write_text(json.dumps(collect(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PINNED}")


if __name__ == "__main__":
    main()
