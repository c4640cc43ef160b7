"""What every task provides, and the shared machinery to turn samples into requests.

A task module subclasses `Task`, declares its data files, prompts and metrics, and implements
`load`, `score` and (where the spec says so) `postprocess` and `truncate`. Request building,
few-shot selection and aggregation are shared here so every task follows the same protocol.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Mapping, Sequence

from clue import prompts
from clue.chat_template import ChatTemplate
from clue.errors import ConfigError, DataError
from clue.metrics.aggregate import task_mean, two_decimals
from clue.protocols import ProtocolProfile
from clue.tasks.fit import FitReport, fit_document
from clue.tasks.postprocess import phi_split, stop_strings, strip_self_prompting
from clue.types import Endpoint, GenParams, Request, Sample


@dataclass(frozen=True)
class BuildContext:
    """Everything besides the samples that shapes a request."""

    endpoint: Endpoint
    profile: ProtocolProfile
    mode: prompts.Mode
    send: str  # "prompt" (TGI native route, template rendered here) or "messages" (OpenAI-compatible)
    chat_template: ChatTemplate | None = None
    max_position_embeddings: int | None = None
    temperature: float | None = None
    seed: int | None = None
    tokenizer: Any = None  # tokenizers.Tokenizer of the evaluated model, for tasks with needs_tokenizer
    draw_seed: int | None = None  # unseeded protocols: the run directory's own random draw, kept so a re-run resumes
    decode_cleanup: bool | None = None  # the model's tokenizer_config `clean_up_tokenization_spaces` (None: unset/unknown)
    prefill: bool = False  # messages: the generation prefix goes as a final assistant message the server continues


@dataclass(frozen=True)
class Split:
    shots: list[Sample]
    evaluated: list[Sample]


class Task:
    name: ClassVar[str]
    title: ClassVar[str]  # the paper's name, as in the published numbers
    files: ClassVar[tuple[str, ...]]
    source: ClassVar[str]  # where to get the files
    credentialed: ClassVar[bool] = False
    metrics: ClassVar[tuple[str, ...]]
    k: ClassVar[int]  # few-shot examples (launch scripts; the same in both eras)
    max_new_tokens: ClassVar[Mapping[str, int]]  # per era: {"tgi": N, "vllm": N}
    double_count_first: ClassVar[Mapping[str, bool]] = {"tgi": True, "vllm": False}  # Q1, per era's code
    needs_tokenizer: ClassVar[bool] = False  # builds prompts to a token budget (LongHealth)
    last_build: dict[str, Any] | None = None  # how the last build() drew, counted or cut (run.json's task_build)
    q23_applies: ClassVar[bool] = False  # the vLLM era wrote this task's means as 2-decimal strings

    # --- per-task behaviour -------------------------------------------------------------
    def load(self, data_dir: Path) -> list[Sample]:
        raise NotImplementedError

    def score(self, output: str, sample: Sample, profile: ProtocolProfile) -> dict[str, float]:
        raise NotImplementedError

    def score_all(self, outputs: Sequence[str], samples: Sequence[Sample], profile: ProtocolProfile) -> list[dict[str, float]]:
        """Per-sample scores for a whole task at once. Override to add batched metrics (BERTScore,
        UMLS); metrics whose optional stack is missing are left out and named by `skipped_metrics`."""
        return [self.score(o, s, profile) for o, s in zip(outputs, samples)]

    def skipped_metrics(self, profile: ProtocolProfile) -> dict[str, str]:
        """{metric: how to enable it} for metrics this run cannot compute (never a silent zero)."""
        return {}

    def baseline(self, sample: Sample, shots: Sequence[Sample]) -> str:
        """The parameterless baseline's answer (each task documents its rule); None-rule tasks raise."""
        raise ConfigError(f"the baseline engine has no rule for {self.title}", "run it with a model engine")

    def write_synthetic(self, records: list[dict], path: Path) -> None:
        """Write bundled synthetic records in this task's original file format (for demos and tests)."""
        raise NotImplementedError

    def truncate(self, max_position_embeddings: int) -> int | None:
        """TGI `truncate` (Q8) from the model's max_position_embeddings; None = not passed."""
        return None

    def context_limit(self, ctx: BuildContext) -> int | None:
        """T, the prompt-token limit Q8 applies (TGI route, context known, Q8 not off); None otherwise.
        `keep_last` passes it as TGI's `truncate`, `cut_document` fits prompts to it client-side."""
        if ctx.profile.q8_truncate == "off" or ctx.send != "prompt" or not ctx.max_position_embeddings:
            return None
        return self.truncate(ctx.max_position_embeddings)

    def postprocess(self, text: str, profile: ProtocolProfile, model: str) -> str:
        """TGI-era cleaning (§2.6): Phi split, then the self-prompting regex."""
        return strip_self_prompting(phi_split(text, profile, model), profile)

    def postprocess_sample(self, text: str, sample: Sample, profile: ProtocolProfile, model: str) -> str:
        """Post-processing for one sample: TGI era cleans (`postprocess`), the vLLM era scores raw text."""
        return self.postprocess(text, profile, model) if profile.era == "tgi" else text

    # --- shared machinery ---------------------------------------------------------------
    def path(self, data_dir: Path, filename: str | None = None) -> Path:
        path = Path(data_dir) / self.name / (filename or self.files[0])
        if not path.is_file():
            raise DataError(f"{self.title} data file {path} is missing", f"get it from {self.source}")
        return path

    def split(self, samples: Sequence[Sample], profile: ProtocolProfile) -> Split:
        """Q26: shots are the first k items (after the era's shuffle) and are not evaluated."""
        items = list(samples)
        if profile.fewshot_shuffle_seed is not None:
            random.seed(profile.fewshot_shuffle_seed)  # CPython's global RNG, as the original scripts
            random.shuffle(items)
        k = self.k
        if len(items) <= k:
            raise DataError(f"{self.title} has {len(items)} items, fewer than k+1 = {k + 1}", "check the data file")
        return Split(shots=items[:k], evaluated=items[k:])

    def user_part(self, profile: ProtocolProfile) -> str:
        """Template file of the user turns (override where an era changed the user template)."""
        return "user"

    def assistant_part(self, profile: ProtocolProfile) -> str:
        """Template file of the few-shot answers (the vLLM era dropped most answer labels)."""
        return "assistant" if profile.era == "tgi" else "assistant_vllm"

    def prefix(self, profile: ProtocolProfile) -> str:
        """Generation prefix P, appended right after the rendered generation prompt (TGI era), else ""."""
        return prompts.render(self.name, "prefix") if profile.generation_prefix else ""

    def document_fields(self, profile: ProtocolProfile) -> tuple[str, ...]:
        """The evaluated item's fields that corrected Q8 cuts, from their end and in this order, when a
        prompt is too long (empty: never cut)."""
        return ()

    def build(self, split: Split, ctx: BuildContext) -> list[Request]:
        profile = ctx.profile
        user, assistant = self.user_part(profile), self.assistant_part(profile)
        system = prompts.render(self.name, "system")
        shots = [
            prompts.Turn(prompts.render(self.name, user, s.fields), prompts.render(self.name, assistant, s.fields))
            for s in split.shots
        ]
        prefix = self.prefix(profile)
        limit = self.context_limit(ctx)
        truncate = limit if profile.q8_truncate == "keep_last" else None
        budget = limit if profile.q8_truncate == "cut_document" else None
        doc_fields = self.document_fields(profile)
        fitting = None
        self.last_build = None
        if budget is not None and doc_fields:
            if ctx.tokenizer is None:  # `clue run` always loads it for this profile; direct library use may not
                self.last_build = {"q8": "cut_document", "budget_tokens": budget, "checked": False,
                                   "why": "no tokenizer: prompt lengths were not checked against the context"}
            else:
                fitting = FitReport(budget=budget, document_fields=doc_fields)
        params = GenParams(
            max_new_tokens=self.max_new_tokens[profile.era],
            stop=stop_strings(profile, ctx.endpoint.model),
            temperature=ctx.temperature if ctx.temperature is not None else profile.q22_temperature,
            seed=ctx.seed if ctx.seed is not None else profile.seed,
            truncate=truncate,
        )
        if ctx.mode == "base" and ctx.send != "prompt":
            raise ConfigError("base-model prompts need a route that takes the rendered prompt",
                              "use --engine tgi, or --route completions with openai, or an instruct --mode")
        if ctx.mode != "base" and ctx.send == "prompt" and ctx.chat_template is None:
            raise ConfigError("the tgi engine needs the model's chat template", "pass --chat-template FILE or --mode base")

        def render_prompt(fields: Mapping[str, Any]) -> str:
            query = prompts.render(self.name, user, fields)
            if ctx.mode == "base":
                return prompts.assemble_base(system, shots, query, prefix, with_system=profile.q29_base_layout == "b01cbcf")
            msgs = prompts.assemble_messages(system, shots, query, ctx.mode)
            assert ctx.chat_template is not None
            return ctx.chat_template.render(msgs, add_generation_prompt=True, strip_bos=not profile.q9_double_bos) + prefix

        requests = []
        for sample in split.evaluated:
            prompt = messages = None
            if ctx.send != "prompt":
                messages = tuple(prompts.assemble_messages(system, shots, prompts.render(self.name, user, sample.fields), ctx.mode))
                if ctx.prefill and prefix:
                    messages += ({"role": "assistant", "content": prefix},)
            elif fitting is not None:
                prompt = fit_document(render_prompt, sample.fields, doc_fields, ctx.tokenizer, fitting.budget, sample.id, fitting)
            else:
                prompt = render_prompt(sample.fields)
            requests.append(
                Request(task=self.name, sample_id=sample.id, params=params, protocol=profile.name,
                        endpoint=ctx.endpoint, prompt=prompt, messages=messages)
            )
        if fitting is not None:
            self.last_build = fitting.as_dict()
        return requests

    def aggregate(self, per_sample: Sequence[Mapping[str, float]], profile: ProtocolProfile) -> dict[str, float | None]:
        """Task score per metric over the scored samples (failed ones are excluded, not zeroed)."""
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
