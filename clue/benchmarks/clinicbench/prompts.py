"""Render ClinicBench prompts: `prompts/<dataset>/user.j2` (the item's prompt) and `answer.j2` (the
gold answer as written in a few-shot exemplar). Same conventions as clue/prompts: StrictUndefined,
no autoescaping, and each file's final newline is not part of the prompt. Where each wording comes
from is `datasets.Dataset.prompt` (paper / earlier-release / kit) and `.prompt_source`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from clue.benchmarks.clinicbench.datasets import get
from clue.benchmarks.clinicbench.items import Item
from clue.benchmarks.clinicbench.labels import HOC_PROMPT_NAMES, tags_to_entities
from clue.errors import ConfigError

PROMPT_DIR = Path(__file__).with_name("prompts")

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROMPT_DIR), undefined=jinja2.StrictUndefined,
                          autoescape=False, keep_trailing_newline=False)


def _render(dataset: str, part: str, fields: dict[str, Any]) -> str:
    try:
        return _env.get_template(f"{dataset}/{part}.j2").render(**fields)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"ClinicBench prompt {dataset}/{part}.j2 not found", "reinstall clue-kit") from None
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"ClinicBench prompt {dataset}/{part}.j2: {exc.message}", "check the data file's fields") from None


def render_user(dataset: str, item: Item, index: int = 0) -> str:
    """The prompt for `item`; `index` is its position (the NER "Paragraph: <i>" number)."""
    get(dataset)
    return _render(dataset, "user", {**item.fields, "index": index})


def render_answer(dataset: str, item: Item, index: int = 0) -> str:
    """The gold answer of `item` as an exemplar answer (what a correct model output looks like)."""
    kind = get(dataset).kind
    fields: dict[str, Any] = {**item.fields, "index": index, "answer": item.reference}
    if kind == "entities":
        fields["entities"] = tags_to_entities(item.fields["tokens"], item.reference)
    elif kind == "iob":
        fields["pairs"] = list(zip(item.fields["tokens"], item.reference))
    elif kind == "label_set":
        fields["answer"] = [HOC_PROMPT_NAMES[lab] for lab in sorted(item.reference, key=list(HOC_PROMPT_NAMES).index)] or ["none"]
    return _render(dataset, "answer", fields)


def provenance(dataset: str) -> tuple[str, str]:
    """(paper | earlier-release | kit, where the wording comes from) — for `clue protocols --show`."""
    ds = get(dataset)
    return ds.prompt, ds.prompt_source
