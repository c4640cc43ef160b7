"""Model-family parameter rules for OpenAI-compatible APIs, as data.

Hosted APIs disagree about the same generation parameters (facts and sources:
../shared/research/hosted-apis.md). Each `Family` below says, for the models whose name matches,
which body field carries the completion budget, whether temperature / stop / seed may be sent and
under which name, and why. `body_fields()` turns (model, GenParams, options) into the JSON fields
to send plus a record of what was sent, dropped or renamed and why — the engine merges the fields
into the request body at its one assembly point, and run.json keeps the record.

Add a provider by adding a `Family` row; nothing else branches on model names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clue.errors import ConfigError
from clue.types import GenParams

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")


@dataclass(frozen=True)
class Family:
    name: str
    pattern: str  # regex searched in the lower-cased model name (a provider prefix like "openai/" is allowed)
    why: str  # the source of the rule, for the run record
    budget_field: str = "max_tokens"
    temperature: str = "send"  # "send" | "omit" (only the server default is accepted) | "clamp01" (range 0–1)
    stop: str = "send"  # "send" | "omit" (rejected) | "nonblank" (whitespace-only stop sequences rejected)
    seed_field: str | None = "seed"  # None: the API rejects or ignores a seed, so none is sent
    reasoning_effort: bool = False  # accepts `reasoning_effort`
    temperature_with_effort_none: bool = False  # gpt-5.1+: temperature is accepted when reasoning_effort is "none"


FAMILIES: tuple[Family, ...] = (
    Family("openai-reasoning", r"(^|/)(o1|o3|o4)(-|$)|(^|/)gpt-5",
           "OpenAI reasoning models reject max_tokens, temperature other than 1 and stop with HTTP 400; "
           "max_completion_tokens counts reasoning tokens too",
           budget_field="max_completion_tokens", temperature="omit", stop="omit", reasoning_effort=True,
           temperature_with_effort_none=True),
    Family("anthropic", r"(^|/)claude",
           "Anthropic's OpenAI-compatible API: temperature 0-1, seed ignored, only non-whitespace stop sequences",
           temperature="clamp01", seed_field=None, stop="nonblank"),
    Family("mistral", r"(^|/)(mistral|mixtral|codestral|ministral|magistral|pixtral|open-mistral)",
           "Mistral's API names the seed random_seed", seed_field="random_seed"),
    Family("gemini", r"(^|/)gemini",
           "Gemini's OpenAI-compatible API rejected seed (\"Unknown name \\\"seed\\\"\")", seed_field=None),
)
DEFAULT = Family("openai-compatible", r"", "the OpenAI chat-completions parameters")
BY_NAME = {f.name: f for f in (*FAMILIES, DEFAULT)}


def family_for(model: str, name: str | None = None) -> Family:
    """The family named by `name` (--model-family), else the first whose pattern matches `model`."""
    if name:
        try:
            return BY_NAME[name]
        except KeyError:
            raise ConfigError(f"unknown model family {name!r}", f"choose one of: {', '.join(BY_NAME)}") from None
    lowered = model.lower()
    return next((f for f in FAMILIES if re.search(f.pattern, lowered)), DEFAULT)


@dataclass(frozen=True)
class BodyPlan:
    fields: dict[str, Any]  # merged into the JSON body next to model and messages/prompt
    record: dict[str, Any]  # family, what was sent, dropped or renamed, and why


def check_effort(fam: Family, model: str, reasoning_effort: str | None) -> None:
    """--reasoning-effort must be a known level, for a family that accepts it (one line otherwise)."""
    if reasoning_effort is None:
        return
    if reasoning_effort not in REASONING_EFFORTS:
        raise ConfigError(f"--reasoning-effort {reasoning_effort!r} is not one of {', '.join(REASONING_EFFORTS)}",
                          "pick one of those")
    if not fam.reasoning_effort:
        raise ConfigError(f"--reasoning-effort applies to reasoning models; {model!r} is in family {fam.name!r}",
                          "drop --reasoning-effort, or pass --model-family openai-reasoning if it is one")


def plan(fam: Family, params: GenParams, reasoning_effort: str | None = None) -> BodyPlan:
    """The generation fields `fam` takes for `params` (greedy = temperature 0 where temperature is sent)."""
    fields: dict[str, Any] = {fam.budget_field: params.max_new_tokens}
    dropped: dict[str, str] = {}
    temperature = params.temperature if params.temperature is not None else 0.0
    temp_rule = fam.temperature
    if temp_rule == "omit" and fam.temperature_with_effort_none and reasoning_effort == "none":
        temp_rule = "send"
    if temp_rule == "send":
        fields["temperature"] = temperature
    elif temp_rule == "clamp01":
        fields["temperature"] = min(max(temperature, 0.0), 1.0)
        if fields["temperature"] != temperature:
            dropped["temperature"] = f"{temperature:g} clamped to {fields['temperature']:g} (accepted range 0-1)"
    else:
        dropped["temperature"] = f"{temperature:g} not sent: only the model's default is accepted"
    if params.stop:
        kept = [s for s in params.stop if s.strip()] if fam.stop == "nonblank" else list(params.stop) if fam.stop == "send" else []
        if kept:
            fields["stop"] = kept
        if len(kept) < len(params.stop):
            left = [s for s in params.stop if s not in kept]
            dropped["stop"] = f"{left} not sent: rejected by this family (the kit's post-processing still cuts there)"
    if params.seed is not None:
        if fam.seed_field:
            fields[fam.seed_field] = params.seed
        else:
            dropped["seed"] = f"{params.seed} not sent: rejected or ignored by this family"
    if reasoning_effort is not None:
        fields["reasoning_effort"] = reasoning_effort
    renamed = {"max_new_tokens": fam.budget_field} if fam.budget_field != "max_tokens" else {}
    if params.seed is not None and fam.seed_field not in (None, "seed"):
        renamed["seed"] = fam.seed_field
    record = {"family": fam.name, "why": fam.why, "sent": sorted(fields), "dropped": dropped, "renamed": renamed}
    return BodyPlan(fields, record)


def body_fields(model: str, params: GenParams, *, family: str | None = None,
                reasoning_effort: str | None = None) -> BodyPlan:
    """The generation fields to send for `model` (its family from --model-family or the name)."""
    fam = family_for(model, family)
    check_effort(fam, model, reasoning_effort)
    return plan(fam, params, reasoning_effort)
