"""CLUE's task contract: the generic `Task` plus the eras and quirks of shared/spec/clue-protocol.md.

Per-era numbers (max new tokens, whether that era's code double-counted the first sample, whether it
wrote two-decimal means) are keyed by `ClueProfile.era`; shots are the first k test items (Q26) after
the vLLM era's shuffle with CPython's global RNG, exactly as the original scripts did.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence, cast

from clue import prompts
from clue.benchmarks.clue.protocol import ClueProfile
from clue.benchmarks.clue.tasks.postprocess import phi_split, strip_self_prompting
from clue.errors import ConfigError, DataError
from clue.metrics.aggregate import task_mean, two_decimals
from clue.tasks.base import BuildContext, Split, Task
from clue.types import Sample

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


def render(task: str, part: str, fields: Mapping[str, Any] | None = None) -> str:
    """Render CLUE's `prompts/<task>/<part>.j2` (tests and tools that name a task rather than hold one)."""
    return prompts.render_file(PROMPTS / task, part, fields)


def clue_profile(ctx: BuildContext) -> ClueProfile:
    """The run's protocol as CLUE's profile type (a CLUE task only ever runs under one)."""
    return cast(ClueProfile, ctx.profile)


class ClueTask(Task[ClueProfile]):
    prompt_root = PROMPTS
    max_new_tokens: ClassVar[Mapping[str, int]]  # per era: {"tgi": N, "vllm": N}
    double_count_first: ClassVar[Mapping[str, bool]] = {"tgi": True, "vllm": False}  # Q1, per era's code
    q23_applies: ClassVar[bool] = False  # the vLLM era wrote this task's means as 2-decimal strings
    fewshot_choice: ClassVar[bool] = False  # Q26 fixes the shots: --shots / --fewshot-seed are refused

    def new_tokens(self, profile: ClueProfile) -> int:
        return self.max_new_tokens[profile.era]

    def postprocess(self, text: str, profile: ClueProfile, model: str) -> str:
        """TGI-era cleaning (§2.6): Phi split, then the self-prompting regex."""
        return strip_self_prompting(phi_split(text, profile, model), profile)

    def postprocess_sample(self, text: str, sample: Sample, profile: ClueProfile, model: str) -> str:
        """Post-processing for one sample: TGI era cleans (`postprocess`), the vLLM era scores raw text."""
        return self.postprocess(text, profile, model) if profile.era == "tgi" else text

    def split(self, samples: Sequence[Sample], profile: ClueProfile, shots: int | None = None,
              pool: Sequence[Sample] | None = None, seeds: Sequence[int] | None = None) -> Split:
        """Q26: shots are the first k items (after the era's shuffle) and are not evaluated (`shots` is never
        given: `fewshot_choice` False makes the core refuse --shots)."""
        items = list(samples)
        if profile.fewshot_shuffle_seed is not None:
            random.seed(profile.fewshot_shuffle_seed)  # CPython's global RNG, as the original scripts
            random.shuffle(items)
        k = self.k
        if len(items) <= k:
            raise DataError(f"{self.title} has {len(items)} items, fewer than k+1 = {k + 1}", "check the data file")
        return Split(shots=items[:k], evaluated=items[k:])

    def assistant_part(self, profile: ClueProfile) -> str:
        """Template file of the few-shot answers (the vLLM era dropped most answer labels)."""
        return "assistant" if profile.era == "tgi" else "assistant_vllm"

    def prefix(self, profile: ClueProfile) -> str:
        """Generation prefix P, appended right after the rendered generation prompt (TGI era), else ""."""
        return self.render("prefix") if profile.generation_prefix else ""

    def base_prompt(self, system: str, shots: Sequence[prompts.Turn], query: str, prefix: str,
                    profile: ClueProfile) -> str:
        """Spec §2.2 case 3: b01cbcf starts with the system prompt, 7a16b0f (Q29) does not; CLUE never
        had zero-shot base prompts."""
        if not shots:
            raise ConfigError("base-model prompts need at least one few-shot example (spec §2.2)", "use k ≥ 1")
        return prompts.assemble_base(system, shots, query, prefix, with_system=profile.q29_base_layout == "b01cbcf")

    def aggregate(self, per_sample: Sequence[Mapping[str, float]], profile: ClueProfile) -> dict[str, float | None]:
        """Task score per metric over the scored samples (failed ones are excluded, not zeroed); Q1, Q23."""
        out: dict[str, float | None] = {}
        skipped = self.skipped_metrics(profile)
        for metric in self.metrics:
            if metric in skipped:
                continue
            values = [s[metric] for s in per_sample if metric in s]
            double = profile.q1_double_count_first == "era" and self.double_count_first[profile.era]
            mean = task_mean(values, double_count_first=double)
            if mean is not None and profile.q23_two_decimals and self.q23_applies:
                mean = two_decimals(mean)
            out[metric] = mean
        return out
