"""Golden first requests: every task × protocol profile × conversation mode equals the files in
tests/benchmarks/clue/golden/, which `tests/benchmarks/clue/golden/make_goldens.py` composes from the spec's verbatim strings
without importing clue (so a drifting template, assembly rule or ordering fails here).

Each combination is checked on both routes: the TGI prompt (the fixed Llama-3 chat template of
`chat_template_file`, generation prefix appended) and the OpenAI-compatible messages. Base models
have no messages form: that route must fail with the clear error instead.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue import prompts
from clue.benchmarks.clue.protocol import PROFILES
from clue.benchmarks.clue.tasks import TASKS
from clue.chat_template import ChatTemplate
from clue.errors import ConfigError
from clue.tasks import BuildContext
from clue.types import Endpoint
from tests.benchmarks.clue.golden import make_goldens
from tests.conftest import SHARED, chat_template_file

GOLDEN = Path(__file__).parent / "golden"
SPEC_FILE = SHARED / "spec" / "clue-protocol.md"
DATASETS = ["mednli", "meqsum", "meqsum-synthetic", "problemsummary", "longhealth", "medisumqa", "medisumcode"]
MODES = ["instruct-system", "instruct", "base"]


def first_request(task_name: str, data_dir: Path, profile_name: str, mode: str, send: str,
                  template: ChatTemplate | None):
    task, profile = TASKS[task_name], PROFILES[profile_name]
    seed = 0 if task_name == "longhealth" and profile.q10_longhealth_rng == "unseeded" else None  # --seed 0 (Q10)
    ctx = BuildContext(endpoint=Endpoint("tgi" if send == "prompt" else "openai", make_goldens.MODEL), profile=profile,
                       mode=mode, send=send, chat_template=template, max_position_embeddings=make_goldens.MPE, seed=seed)
    return task.build(task.split(task.load(data_dir), profile), ctx)[0]


def params(request) -> dict:
    p = request.params
    return {"max_new_tokens": p.max_new_tokens, "stop": list(p.stop), "truncate": p.truncate}


@pytest.fixture
def data_for(request, tmp_path):
    def get(dataset: str) -> Path:
        if dataset == "meqsum":
            return request.getfixturevalue("real_meqsum_dir")
        return request.getfixturevalue("synthetic_dir")
    return get


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("profile", list(make_goldens.PROFILES))
@pytest.mark.parametrize("dataset", DATASETS)
def test_first_request_equals_golden(data_for, tmp_path, dataset, profile, mode):
    data_dir = data_for(dataset)
    task = dataset.split("-")[0]
    expected_prompt = (GOLDEN / dataset / f"{profile}-{mode}.txt").read_bytes().decode("utf-8")
    expected = json.loads((GOLDEN / dataset / f"{profile}-{mode}.json").read_text(encoding="utf-8"))
    template = ChatTemplate.from_file(chat_template_file(tmp_path))

    sent = first_request(task, data_dir, profile, mode, "prompt", template)
    assert sent.prompt == expected_prompt and sent.messages is None
    assert params(sent) == expected["prompt_params"]

    if mode == "base":
        with pytest.raises(ConfigError, match="base-model prompts need a route that takes the rendered prompt"):
            first_request(task, data_dir, profile, mode, "messages", None)
    else:
        sent = first_request(task, data_dir, profile, mode, "messages", None)
        assert sent.prompt is None and list(sent.messages) == expected["messages"]
        assert params(sent) == expected["messages_params"]


def test_every_combination_has_a_golden_file():
    for dataset in DATASETS:
        names = {p.name for p in (GOLDEN / dataset).iterdir()}
        assert names == {f"{pr}-{m}.{ext}" for pr in PROFILES for m in MODES for ext in ("txt", "json")}, dataset


def test_golden_files_are_what_the_builder_makes():
    """Nobody edited a golden by hand (or changed the synthetic samples) without re-running the builder."""
    made = make_goldens.all_goldens()
    assert len(made) >= 6 * 9 * 2
    for path, data in made.items():
        assert path.read_bytes() == data, f"{path} is stale: run python tests/benchmarks/clue/golden/make_goldens.py"


def test_builder_strings_are_verbatim_in_the_spec():
    if not SPEC_FILE.is_file():
        pytest.skip("shared/spec/clue-protocol.md not present")
    spec = SPEC_FILE.read_text(encoding="utf-8")
    for key, literal in make_goldens.SPEC.items():
        assert f"```json\n{literal}\n```" in spec, key


def test_a_drifting_template_fails_the_golden(synthetic_dir, monkeypatch, tmp_path):
    """The check can fail: one extra space in one template file changes the first request."""
    expected = (GOLDEN / "problemsummary" / "clue-v3-instruct.json").read_text(encoding="utf-8")
    render = prompts.render_file

    def drifted(directory, part, fields=None):
        text = render(directory, part, fields)
        return text + " " if (directory.name, part) == ("problemsummary", "assistant") else text

    monkeypatch.setattr(prompts, "render_file", drifted)
    sent = first_request("problemsummary", synthetic_dir, "clue-v3", "instruct", "messages", None)
    assert list(sent.messages) != json.loads(expected)["messages"]


def test_a_template_that_rejects_a_system_turn_is_a_clear_error(synthetic_dir, tmp_path):
    """instruct-system with a template that has no system role (Mistral v0.1) is impossible: one clear error."""
    path = chat_template_file(tmp_path, "mistralai--Mistral-7B-Instruct-v0.1.json")
    if "Mistral" not in path.name or "raise_exception" not in json.loads(path.read_text())["chat_template"]:
        pytest.skip("shared chat templates absent")
    with pytest.raises(ConfigError, match="refused these messages"):
        first_request("mednli", synthetic_dir, "clue-v3", "instruct-system", "prompt", ChatTemplate.from_file(path))
    assert first_request("mednli", synthetic_dir, "clue-v3", "instruct", "prompt", ChatTemplate.from_file(path)).prompt
