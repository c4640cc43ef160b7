"""Record ClinicBench's behaviour: every request key the bundled data produces, and the baseline's scores.

`python -m tests.benchmarks.clinicbench.pinned.make_pinned` rewrites `clinicbench_keys_scores.json` from the code as it
is; `test_pinned_behaviour.py` (beside this folder) compares the code against that file. A key that changes means
existing stores stop resuming and a prompt or parameter drifted; a score that changes means loading or scoring drifted.
Regenerate only for an intended, announced protocol change, with a test that proves what changed (see the test).

Covered: every runnable dataset × zero-shot and 3-shot × the three conversation modes × both routes (the rendered
prompt with a fixed Llama-3 chat template; OpenAI-compatible messages — base mode has none). ClinicBench has one
protocol, no stop strings and no truncation, so one model id and one context cover it. Keys are recorded per evaluated
item as "<sample id> <request key>", in build order. Scores: the baseline engine's scores.json on the same data,
zero-shot and 3-shot.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PINNED = HERE / "clinicbench_keys_scores.json"
MODEL = "meta-llama/Meta-Llama-3-8B-Instruct"
MODES = ("instruct-system", "instruct", "base")
SHOTS = (0, 3)


def _template(tmp: Path) -> Any:
    from clue.chat_template import ChatTemplate
    from tests.conftest import LLAMA3_TEMPLATE

    path = tmp / "tokenizer_config.json"
    path.write_text(json.dumps({"chat_template": LLAMA3_TEMPLATE, "bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}))
    return ChatTemplate.from_file(path)


def _materialize(data_dir: Path) -> Path:
    from clue.benchmarks.clinicbench.synthetic import materialize

    return materialize(data_dir)


def _protocol() -> Any:
    from clue.benchmarks.clinicbench.protocol import PROTOCOLS

    return PROTOCOLS["clinicbench"]


def request_keys(tmp: Path) -> dict[str, list[str]]:
    """{"<dataset>|<shots>|<mode>|<route>": ["<sample id> <request key>", …] in build order}."""
    from clue.benchmarks.clinicbench.tasks import TASKS
    from clue.errors import ConfigError
    from clue.tasks import BuildContext
    from clue.types import Endpoint

    data_dir = _materialize(tmp / "bundled")
    template, protocol = _template(tmp), _protocol()
    out: dict[str, list[str]] = {}
    for name, task in TASKS.items():
        for shots in SHOTS:
            split = task.prepare(data_dir, protocol, shots)
            for mode in MODES:
                for send in ("prompt", "messages"):
                    ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", MODEL, "0123abcd"),
                                       profile=protocol, mode=mode, send=send,
                                       chat_template=template if send == "prompt" and mode != "base" else None)
                    label = f"{name}|{shots}|{mode}|{send}"
                    try:
                        out[label] = [f"{r.sample_id} {r.key}" for r in task.build(split, ctx)]
                    except ConfigError as exc:  # base mode has no messages form
                        out[label] = [f"ConfigError: {exc.line()}"]
    return out


def baseline_scores(tmp: Path) -> dict[str, Any]:
    """scores.json of the baseline engine on the bundled data, per number of shots."""
    from clue.benchmarks.clinicbench.tasks import TASKS
    from clue.evaluate import RunConfig, evaluate

    data_dir = _materialize(tmp / "bundled-scores")
    out: dict[str, Any] = {}
    for shots in SHOTS:
        run = tmp / f"run-{shots}"
        cfg = RunConfig(engine="baseline", model="parameterless-baseline", tasks=list(TASKS.values()), profile=_protocol(),
                        data_dir=data_dir, out=run, store_path=tmp / "store.sqlite", progress=False,
                        benchmark="clinicbench", shots=shots, synthetic=True)
        evaluate(cfg)
        out[str(shots)] = json.loads((run / "scores.json").read_text())
    return out


def collect() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        return {"request_keys": request_keys(Path(tmp)), "baseline_scores": baseline_scores(Path(tmp))}


def main() -> None:
    PINNED.write_text(json.dumps(collect(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {PINNED}")


if __name__ == "__main__":
    main()
