"""Prompt templates (Jinja files) and conversation assembly, for any benchmark.

A task keeps its templates in one folder (`Task.prompt_dir`) with parts `system`, `user`,
`assistant` (few-shot answer, gold field filled) and optionally `prefix` (the generation prefix).
Rendering uses StrictUndefined and no autoescaping: field values go in unchanged, like Python's
`str.format` in the original code. Jinja drops one trailing newline of a file, so every file ends
with a newline that is not part of the prompt.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import jinja2

from clue.errors import ConfigError
from clue.types import Message

Mode = Literal["instruct-system", "instruct", "base"]
MODES: tuple[Mode, ...] = ("instruct-system", "instruct", "base")


@cache
def _env(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        finalize=lambda v: _as_str(v),
    )


def _as_str(value: Any) -> str:
    # str.format semantics: NaN from an Excel cell becomes "nan", like the original code.
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return str(value)


@cache
def _template(directory: Path, part: str) -> jinja2.Template:
    """Compiled once per run (Jinja's own cache would stat the file on every render to see if it changed)."""
    try:
        return _env(Path(directory)).get_template(f"{part}.j2")
    except jinja2.TemplateNotFound:
        raise ConfigError(f"prompt template {Path(directory).name}/{part}.j2 not found", "reinstall clue-kit") from None


def render_file(directory: Path, part: str, fields: Mapping[str, Any] | None = None) -> str:
    """Render `<directory>/<part>.j2` with the sample's fields; a missing field is an error."""
    template = _template(directory, part)
    try:
        return template.render(**(fields or {}))
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"prompt template {Path(directory).name}/{part}.j2: {exc.message}", "check the data file's columns") from None


def template_hashes_in(directory: Path) -> dict[str, str]:
    """sha256 (first 16 hex) of each template file in a task's folder, for provenance."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in sorted(Path(directory).glob("*.j2"))}


@dataclass(frozen=True)
class Turn:
    """One few-shot demonstration or the item under test: rendered user text and assistant answer."""

    user: str
    assistant: str | None = None


def assemble_messages(system: str, shots: Sequence[Turn], query: str, mode: Mode) -> list[Message]:
    """Chat messages per spec §2.2 cases 1 and 2 (TGI era), or always-with-system (vLLM era §2.3)."""
    messages: list[Message] = []
    if mode == "instruct-system" and system:  # an empty system prompt (a benchmark without one) sends no system turn
        messages.append({"role": "system", "content": system})
    for i, shot in enumerate(shots):
        user = shot.user
        if mode == "instruct" and i == 0 and system:
            user = system + "\n\n" + user  # no system role: merged into the first user turn
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": shot.assistant or ""})
    if mode == "instruct" and not shots and system:
        messages.append({"role": "user", "content": system})  # two user turns in a row, as the spec says
    messages.append({"role": "user", "content": query})
    return messages


def assemble_base(system: str, shots: Sequence[Turn], query: str, prefix: str, *, with_system: bool = True) -> str:
    """Plain-text prompt for base models (CLUE spec §2.2 case 3): system prompt, each shot's user text and
    answer, the query, the prefix, joined by blank lines; zero shots give system + query (zero-shot base
    prompts). `with_system=False` leaves the system prompt out (CLUE's 7a16b0f layout, Q29)."""
    text = system if with_system else ""
    for shot in shots:
        text += "\n\n" + shot.user + "\n\n" + (shot.assistant or "")
    return text + "\n\n" + query + "\n\n" + prefix
